// rtg for VS Code: starts rtg-serve for Rust files and shows its status. The code actions ("Generate tests for
// `name`") and their progress come from the server through vscode-languageclient; nothing here handles them.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { formatStatus, launch, LAUNCH_SETTING_KEYS, serverSettings } from './settings';

const SECTION = 'rtg';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('rtg');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('rtg.showStatus', showStatus),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

function createClient(): LanguageClient {
  const { command, args } = launch(vscode.workspace.getConfiguration(SECTION));
  // No `transport`: the server speaks LSP on plain stdio, and TransportKind.stdio would append `--stdio`.
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'rust' }],
    // A function, so that every (re)start sends the settings in force then.
    initializationOptions: () => serverSettings(vscode.workspace.getConfiguration(SECTION)),
    outputChannel: output,
  };
  return new LanguageClient('rtg', 'rtg', serverOptions, clientOptions);
}

async function start(): Promise<void> {
  const next = createClient();
  client = next;
  try {
    await next.start();
  } catch (error) {
    const { command } = launch(vscode.workspace.getConfiguration(SECTION));
    output.appendLine(`could not start ${command}: ${describe(error)}`);
    const choice = await vscode.window.showErrorMessage(
      `rtg: could not start \`${command}\`. Install rtg-serve on PATH or set rtg.serverPath ` +
        '(a checkout has it at .venv/bin/rtg-serve).',
      'Open settings',
      'Show log',
    );
    if (choice === 'Open settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'rtg.serverPath');
    } else if (choice === 'Show log') {
      output.show(true);
    }
  }
}

async function stop(): Promise<void> {
  const previous = client;
  client = undefined;
  if (previous?.needsStop()) {
    await previous.stop().catch((error) => output.appendLine(`stopping the server: ${describe(error)}`));
  }
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (LAUNCH_SETTING_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
    output.appendLine('rtg.serverPath or rtg.serverArgs changed: restarting the server');
    await stop();
    await start();
  } else if (event.affectsConfiguration(SECTION) && client?.state === State.Running) {
    const settings = serverSettings(vscode.workspace.getConfiguration(SECTION));
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: settings } });
  }
}

async function showStatus(): Promise<void> {
  if (client === undefined || client.state === State.Stopped) {
    output.show(true);
    void vscode.window.showErrorMessage('rtg: the server is not running; its log is in the rtg output channel.');
    return;
  }
  try {
    const status: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command: 'rtg.status',
      arguments: [],
    });
    output.appendLine(`rtg.status: ${JSON.stringify(status, null, 2)}`);
    const choice = await vscode.window.showInformationMessage(`rtg: ${formatStatus(status)}`, 'Show details');
    if (choice === 'Show details') {
      output.show(true);
    }
  } catch (error) {
    output.appendLine(`rtg.status failed: ${describe(error)}`);
    void vscode.window.showErrorMessage(`rtg: rtg.status failed: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
