// The rtg.* configuration split into what starts the server and what the server itself reads, and the status
// line. Kept free of the vscode module: plain data in, plain data out.

/** The settings `rtg-serve` reads, under their camelCase names (the server's interface). */
export const SERVER_SETTING_KEYS = [
  'model',
  'adapter',
  'device',
  'maxNewTokens',
  'candidates',
  'mutants',
  'seed',
  'retries',
  'validation',
  'timeouts',
  'loadModelAtStart',
  'allowHub',
  'allowFailedAdapter',
  'logFile',
] as const;

/** Settings that only the client reads: changing one of them restarts the server. */
export const LAUNCH_SETTING_KEYS = ['serverPath', 'serverArgs'] as const;

export type ServerSettings = Partial<Record<(typeof SERVER_SETTING_KEYS)[number], unknown>>;

export interface Launch {
  command: string;
  args: string[];
}

/** The part of a configuration section that this module needs: `vscode.WorkspaceConfiguration` has it. */
export interface Section {
  get<T>(key: string): T | undefined;
}

/** The settings sent as `initializationOptions` (defaults come from package.json through `section`). */
export function serverSettings(section: Section): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = section.get(key);
    if (value !== undefined) {
      settings[key] = value; // null is a value here: "no log file"
    }
  }
  return settings;
}

/** How to start the server; an empty path falls back to `rtg-serve` on PATH. */
export function launch(section: Section): Launch {
  const command = (section.get<string>('serverPath') ?? '').trim() || 'rtg-serve';
  const args = section.get<string[]>('serverArgs') ?? [];
  return { command, args: args.map(String) };
}

/** One line for a notification: `rtg.status`'s object as `key: value` pairs, nested values as JSON. */
export function formatStatus(status: unknown): string {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) {
    return JSON.stringify(status);
  }
  return Object.entries(status)
    .map(([key, value]) => `${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(', ');
}
