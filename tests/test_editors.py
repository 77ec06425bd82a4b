"""The editor clients: the VS Code extension builds and packages with the server's settings, and the Neovim plugin
loads and, with the real rtg-serve, gets the "Generate tests for `name`" code action.

The Neovim tests drive `nvim --headless` with a Lua script that writes what it saw to a JSON file. They run under
every Neovim found: `nvim` on PATH, `.venv/bin/nvim`, and the paths in RTG_TEST_NVIM (os.pathsep-separated).
"""
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from textwrap import dedent

import pytest

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
NEOVIM = ROOT / "editors" / "neovim"
RTG_SERVE = ROOT / ".venv" / "bin" / "rtg-serve"

# The server's settings (its interface) and their defaults.
SERVER_SETTINGS = {
    "model": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
    "adapter": "default",
    "device": "auto",
    "maxNewTokens": 192,
    "candidates": 4,
    "mutants": 40,
    "seed": 42,
    "retries": 1,
    "validation": "run",
    "timeouts": {"generateSeconds": 120, "checkSeconds": 300, "runSeconds": 10},
    "loadModelAtStart": False,
    "allowHub": False,
    "allowFailedAdapter": False,
    "logFile": None,
}
# Settings only the VS Code client reads: how to start the server.
LAUNCH_SETTINGS = {"serverPath": "rtg-serve", "serverArgs": []}


def rust(text: str) -> str:
    return dedent(text).lstrip("\n")


CRATE_MANIFEST = '[package]\nname = "adder"\nversion = "0.1.0"\nedition = "2021"\n'
CRATE_LIB = rust("""
    //! A crate for the editor tests.

    /// Adds two numbers.
    pub fn add(left: u64, right: u64) -> u64 {
        left + right
    }
""")
# (line, character) of the name `add` in CRATE_LIB, 0-based.
ADD_NAME = next((n, line.index("add(")) for n, line in enumerate(CRATE_LIB.splitlines()) if "fn add(" in line)


@pytest.fixture
def crate(tmp_path) -> Path:
    """A one-function crate; the Rust file sits in src/, one level below Cargo.toml."""
    root = tmp_path / "adder"
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(CRATE_MANIFEST)
    (root / "src" / "lib.rs").write_text(CRATE_LIB)
    return root


# --- VS Code ------------------------------------------------------------------------------------------------


def package_json() -> dict:
    return json.loads((VSCODE / "package.json").read_text())


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


INITIALIZATION_OPTIONS_JS = """
const properties = require('./package.json').contributes.configuration.properties;
const { serverSettings } = require('./out/settings.js');
const section = { get: (key) => (properties['rtg.' + key] || {}).default };
process.stdout.write(JSON.stringify(serverSettings(section)));
"""


def test_vscode_extension_compiles_and_packages(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (apt-get install nodejs npm, or Node.js ≥ 20 from nodejs.org)")
    work = tmp_path / "vscode"
    shutil.copytree(VSCODE, work, ignore=shutil.ignore_patterns("node_modules", "out", "*.vsix"))

    run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], work, timeout=45)
    run(["npm", "run", "compile"], work, timeout=30)
    run(["npm", "run", "package"], work, timeout=30)

    # What the compiled client sends as initializationOptions when no setting was changed: the package.json defaults.
    sent = run(["node", "-e", INITIALIZATION_OPTIONS_JS], work, timeout=15).stdout
    assert json.loads(sent) == SERVER_SETTINGS

    version = package_json()["version"]
    vsix = work / f"rtg-{version}.vsix"
    assert vsix.is_file(), sorted(p.name for p in work.iterdir())
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        packaged_manifest = json.loads(archive.read("extension/package.json"))
    assert {"extension/package.json", "extension/out/extension.js", "extension/out/settings.js"} <= names
    # Not bundled: the client library has to travel in the .vsix, or the extension fails to activate.
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not any(name.startswith("extension/src/") for name in names)
    assert packaged_manifest["contributes"] == package_json()["contributes"]


def test_vscode_settings_are_the_servers_settings_with_their_defaults():
    properties = package_json()["contributes"]["configuration"]["properties"]
    contributed = {name.removeprefix("rtg."): spec.get("default") for name, spec in properties.items()}
    assert contributed == SERVER_SETTINGS | LAUNCH_SETTINGS
    assert all(name.startswith("rtg.") and spec.get("description", spec.get("markdownDescription"))
               for name, spec in properties.items())
    assert properties["rtg.device"]["enum"] == ["auto", "cuda", "cpu"]
    assert properties["rtg.validation"]["enum"] == ["parse", "check", "run"]
    assert set(properties["rtg.timeouts"]["properties"]) == set(SERVER_SETTINGS["timeouts"])


def test_the_editors_settings_are_the_fields_the_server_reads():
    from dataclasses import fields

    from rtg_serve.settings import ServerSettings, _snake

    flat = {k: v for k, v in SERVER_SETTINGS.items() if k != "timeouts"} | SERVER_SETTINGS["timeouts"]
    assert {_snake(key): value for key, value in flat.items()} == {f.name: f.default for f in fields(ServerSettings)}


def test_vscode_status_command_is_contributed_and_not_the_servers_own_id():
    # vscode-languageclient registers the server's commands (rtg.status, rtg.generateTests) itself.
    commands = {c["command"]: c for c in package_json()["contributes"]["commands"]}
    assert commands["rtg.showStatus"]["category"] == "rtg"
    assert commands["rtg.showStatus"]["title"] == "Show status"
    assert "rtg.status" not in commands


def git_ignores(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT).returncode == 0


def test_vscode_build_outputs_stay_out_of_git_and_the_lock_file_in_it():
    for output in ("node_modules/vscode-languageclient/package.json", "out/extension.js", "rtg-0.1.0.vsix"):
        assert git_ignores(f"editors/vscode/{output}"), output
    assert (VSCODE / "package-lock.json").is_file()  # `npm ci` needs it
    assert not git_ignores("editors/vscode/package-lock.json")


# --- Neovim ---------------------------------------------------------------------------------------------------

# Runs BODY after start-up and writes `result` to $RTG_TEST_RESULT, whatever happens; BODY reads its inputs with env().
LUA_HARNESS = r"""
local result = { notifications = {} }
local function env(name)
  local value = os.getenv(name)
  assert(value, name .. ' is not set')
  return value
end
vim.opt.runtimepath:prepend(env('RTG_TEST_PLUGIN'))
vim.cmd('filetype on')
vim.notify = function(message, level)
  table.insert(result.notifications, { message = tostring(message), level = level })
end
local function notified(text)
  for _, notification in ipairs(result.notifications) do
    if notification.message:find(text, 1, true) then
      return notification.message
    end
  end
end
local function rtg_clients(bufnr)
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  return vim.tbl_filter(function(client)
    return client.name == 'rtg' and vim.lsp.buf_is_attached(bufnr, client.id)
  end, all)
end
local ok, err = xpcall(function()
BODY
end, debug.traceback)
if not ok then
  result.error = err
end
result.version = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor)
local file = assert(io.open(env('RTG_TEST_RESULT'), 'w'))
file:write(vim.json.encode(result))
file:close()
vim.cmd('qa!')
"""

LOAD_WITHOUT_SERVER = r"""
require('rtg').setup({})
result.command_exists = vim.fn.exists(':RtgStatus') == 2
vim.cmd('edit ' .. vim.fn.fnameescape(env('RTG_TEST_RUST_FILE')))
result.filetype = vim.bo.filetype
vim.wait(300)
result.clients = #rtg_clients(0)
result.notifications = {}
vim.cmd('RtgStatus')
result.status_message = notified('is not executable')
"""

CODE_ACTION_FROM_REAL_SERVER = r"""
require('rtg').setup({ cmd = { env('RTG_TEST_SERVER') }, settings = { model = 'rtg-test/model-from-setup' } })
vim.cmd('edit ' .. vim.fn.fnameescape(env('RTG_TEST_RUST_FILE')))
local bufnr = vim.api.nvim_get_current_buf()
local client
result.attached = vim.wait(30000, function()
  client = rtg_clients(bufnr)[1]
  return client ~= nil and client.initialized == true
end, 50)
if not result.attached then
  return
end
result.root_dir = client.root_dir or client.config.root_dir
local line, character = tonumber(env('RTG_TEST_LINE')), tonumber(env('RTG_TEST_CHARACTER'))
local params = {
  textDocument = { uri = vim.uri_from_bufnr(bufnr) },
  range = { start = { line = line, character = character }, ['end'] = { line = line, character = character } },
  context = { diagnostics = {} },
}
local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', params, 10000) or {}
local response = responses[client.id] or {}
local err = response.err or response.error
result.code_action_error = err and vim.inspect(err) or nil
result.actions = {}
for _, action in ipairs(response.result or {}) do
  table.insert(result.actions, { title = action.title, kind = action.kind })
end
require('rtg').status()
vim.wait(15000, function()
  return notified('rtg status') or notified('rtg.status failed')
end, 50)
result.status_message = notified('rtg status') or notified('rtg.status failed')
"""


def nvim_version(nvim: str) -> str:
    first = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=10).stdout.split("\n")[0]
    return first.split()[-1] if first else "unknown"


def neovims() -> list:
    candidates = [shutil.which("nvim"), str(ROOT / ".venv" / "bin" / "nvim"),
                  *os.environ.get("RTG_TEST_NVIM", "").split(os.pathsep)]
    found = {}
    for candidate in filter(None, candidates):
        if os.access(candidate, os.X_OK) and os.path.realpath(candidate) not in found:
            found[os.path.realpath(candidate)] = candidate
    if not found:
        return [pytest.param(None, id="no-nvim")]
    return [pytest.param(nvim, id=f"nvim-{nvim_version(nvim)}") for nvim in found.values()]


def run_nvim(nvim: str | None, body: str, tmp_path: Path, env: dict[str, str], timeout: float = 55) -> dict:
    """Run BODY in `nvim --headless` (no user config, no plugins but ours) and return its `result` table."""
    if nvim is None:
        pytest.skip("nvim is not installed (apt-get install neovim)")
    script = tmp_path / "test.lua"
    script.write_text(LUA_HARNESS.replace("BODY", body))
    result_file = tmp_path / "result.json"
    done = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {script}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env=os.environ | {"RTG_TEST_PLUGIN": str(NEOVIM), "RTG_TEST_RESULT": str(result_file)} | env,
    )
    assert result_file.is_file(), f"nvim exited {done.returncode} without a result:\n{done.stdout}\n{done.stderr}"
    result = json.loads(result_file.read_text())
    assert "error" not in result, f"{result['error']}\nnvim's stderr:\n{done.stderr}"
    return result


def path_without_rtg_serve() -> str:
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not os.path.exists(os.path.join(d, "rtg-serve")))


@pytest.mark.parametrize("nvim", neovims())
def test_neovim_plugin_loads_and_has_rtg_status_without_a_server(nvim, crate, tmp_path):
    result = run_nvim(nvim, LOAD_WITHOUT_SERVER, tmp_path, {
        "RTG_TEST_RUST_FILE": str(crate / "src" / "lib.rs"),
        "PATH": path_without_rtg_serve(),
    })
    assert result["command_exists"] is True
    assert result["filetype"] == "rust"
    assert result["clients"] == 0
    assert result.get("status_message", "").startswith("rtg: 'rtg-serve' is not executable"), result["notifications"]


@pytest.mark.parametrize("nvim", neovims())
def test_neovim_gets_the_generate_tests_action_from_rtg_serve(nvim, crate, tmp_path):
    if not RTG_SERVE.exists():
        pytest.skip("rtg-serve not built yet")
    line, character = ADD_NAME
    result = run_nvim(nvim, CODE_ACTION_FROM_REAL_SERVER, tmp_path, {
        "RTG_TEST_SERVER": str(RTG_SERVE),
        "RTG_TEST_RUST_FILE": str(crate / "src" / "lib.rs"),
        "RTG_TEST_LINE": str(line),
        "RTG_TEST_CHARACTER": str(character),
    })
    assert result["attached"] is True, f"rtg-serve did not attach in 30 s: {result}"
    assert os.path.realpath(result["root_dir"]) == os.path.realpath(crate)  # nearest Cargo.toml, not src/
    assert "code_action_error" not in result, result["code_action_error"]
    assert {"title": "Generate tests for `add`", "kind": "refactor.rewrite"} in result["actions"], result["actions"]
    status = result.get("status_message", "")
    assert status.startswith("rtg status\n"), result["notifications"]
    # setup()'s settings reached the server; the model loads on the first generation, not yet.
    assert {"model: rtg-test/model-from-setup", "modelLoaded: false"} <= set(status.splitlines()), status
