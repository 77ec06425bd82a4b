-- rtg for Neovim: starts rtg-serve for Rust buffers and adds :RtgStatus. The "Generate tests for `name`" code
-- action comes from the server and shows in vim.lsp.buf.code_action(); nothing here handles it.
--
--   require('rtg').setup({ cmd = { 'rtg-serve' }, settings = { device = 'cpu', validation = 'check' } })
--
-- Neovim 0.11+ uses vim.lsp.config + vim.lsp.enable; 0.8-0.10 vim.lsp.start and 0.7 vim.lsp.start_client from a
-- FileType autocmd.
local M = {}

local NAME = 'rtg'

local defaults = {
  cmd = { 'rtg-serve' }, -- e.g. { '/path/to/checkout/.venv/bin/rtg-serve' }
  filetypes = { 'rust' },
  -- The server's settings, camelCase as in its interface (model, adapter, device, maxNewTokens, candidates,
  -- mutants, seed, retries, validation, timeouts, loadModelAtStart, allowHub, allowFailedAdapter, logFile).
  -- Unset keys take the server's defaults.
  settings = {},
  progress = true, -- echo the server's $/progress in the command line
  on_attach = nil,
  capabilities = nil,
}

local function has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

--- The directory of the nearest Cargo.toml above `bufnr`'s file, else the file's own directory.
function M.root_dir(bufnr)
  local uv = vim.uv or vim.loop
  local start = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':p:h')
  local dir = start
  while true do
    if uv.fs_stat(dir .. '/Cargo.toml') then
      return dir
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return start
    end
    dir = parent
  end
end

local function clients()
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  return vim.tbl_filter(function(client)
    return client.name == NAME
  end, all)
end

--- The rtg client attached to `bufnr`, else any running rtg client.
local function client_for(bufnr)
  local any = nil
  for _, client in ipairs(clients()) do
    if vim.lsp.buf_is_attached(bufnr, client.id) then
      return client
    end
    any = any or client
  end
  return any
end

local function request(client, method, params, handler, bufnr)
  if has('0.11') then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local progress_titles = {} -- token -> title: reports and the end carry no title of their own

local function progress_text(token, value)
  if value.kind == 'begin' then
    progress_titles[token] = value.title
  end
  local text = 'rtg: ' .. (progress_titles[token] or value.title or 'working')
  if value.kind == 'end' then
    progress_titles[token] = nil
  end
  local message = value.message or (value.kind == 'end' and 'done' or nil)
  if message then
    text = text .. ': ' .. message
  end
  if value.percentage then
    text = text .. string.format(' (%d%%)', value.percentage)
  end
  return text
end

--- Echoes the server's work-done progress and still hands it to the default handler (statusline plugins,
--- LspProgress).
local function progress_handler(err, result, ctx, config)
  local default = vim.lsp.handlers['$/progress']
  if default then
    default(err, result, ctx, config)
  end
  if err ~= nil or type(result) ~= 'table' or result.token == nil or type(result.value) ~= 'table' then
    return
  end
  local text = progress_text(result.token, result.value)
  vim.schedule(function()
    if #text >= vim.v.echospace then -- a longer line would ask for Enter
      text = text:sub(1, math.max(vim.v.echospace - 1, 0))
    end
    vim.api.nvim_echo({ { text } }, false, {})
  end)
end

local function client_config(opts)
  local config = {
    name = NAME,
    cmd = opts.cmd,
    filetypes = opts.filetypes,
    init_options = opts.settings,
    settings = { [NAME] = opts.settings },
    on_attach = opts.on_attach,
    capabilities = opts.capabilities,
  }
  if opts.progress then
    config.handlers = { ['$/progress'] = progress_handler }
  end
  return config
end

local function not_executable(cmd)
  return string.format("rtg: '%s' is not executable; install rtg-serve or pass cmd = { '/path/to/rtg-serve' } to setup()", cmd)
end

local warned_missing = false

--- Pre-0.11: start (or reuse) the client for `bufnr`'s root and attach it.
local function start_for_buffer(bufnr, opts)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return
  end
  if vim.fn.executable(opts.cmd[1]) ~= 1 then
    if not warned_missing then
      warned_missing = true
      vim.notify(not_executable(opts.cmd[1]), vim.log.levels.WARN)
    end
    return
  end
  local config = client_config(opts)
  config.root_dir = M.root_dir(bufnr)
  if vim.lsp.start then
    -- 0.8 attaches the current buffer (0.9+ reads opts.bufnr): make it the current one.
    vim.api.nvim_buf_call(bufnr, function()
      vim.lsp.start(config, { bufnr = bufnr })
    end)
    return
  end
  -- 0.7: reuse the client of this root while it runs.
  for _, client in ipairs(clients()) do
    if client.config.root_dir == config.root_dir and not client.is_stopped() then
      vim.lsp.buf_attach_client(bufnr, client.id)
      return
    end
  end
  local id = vim.lsp.start_client(config)
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local function format_status(status)
  if type(status) ~= 'table' then
    return vim.inspect(status)
  end
  local keys = vim.tbl_keys(status)
  table.sort(keys)
  local lines = {}
  for _, key in ipairs(keys) do
    local value = status[key]
    if type(value) == 'table' then
      value = vim.inspect(value, { newline = ' ', indent = '' })
    elseif value == vim.NIL then
      value = 'null'
    end
    table.insert(lines, string.format('%s: %s', key, tostring(value)))
  end
  return table.concat(lines, '\n')
end

--- :RtgStatus: runs the server's rtg.status command and shows its answer.
function M.status()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  if client == nil then
    local cmd = (M.options or defaults).cmd[1]
    if vim.fn.executable(cmd) ~= 1 then
      vim.notify(not_executable(cmd), vim.log.levels.WARN)
    else
      vim.notify('rtg: no rtg-serve is running; open a Rust file (:checkhealth vim.lsp says more)', vim.log.levels.WARN)
    end
    return
  end
  local params = { command = 'rtg.status', arguments = {} }
  request(client, 'workspace/executeCommand', params, function(err, result)
    if err then
      vim.notify('rtg: rtg.status failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    else
      vim.notify('rtg status\n' .. format_status(result), vim.log.levels.INFO)
    end
  end, bufnr)
end

--- Registers the client for Rust buffers and :RtgStatus. Calling it again replaces the earlier set-up.
function M.setup(user_opts)
  local opts = vim.tbl_extend('force', {}, defaults, user_opts or {})
  if type(opts.cmd) == 'string' then
    opts.cmd = { opts.cmd }
  end
  -- An empty table would go out as a JSON array; the server expects an object.
  if next(opts.settings) == nil then
    opts.settings = vim.empty_dict()
  end
  M.options = opts

  vim.api.nvim_create_user_command('RtgStatus', M.status, { desc = "Show rtg-serve's status" })

  if vim.lsp.config and vim.lsp.enable then
    local config = client_config(opts)
    config.name = nil
    config.root_dir = function(bufnr, on_dir)
      on_dir(M.root_dir(bufnr))
    end
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    return
  end

  local group = vim.api.nvim_create_augroup('rtg', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = opts.filetypes,
    callback = function(args)
      start_for_buffer(args.buf, opts)
    end,
  })
  -- Buffers opened before setup() (e.g. by a plugin manager loading on `ft = 'rust'`).
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(opts.filetypes, vim.bo[bufnr].filetype) then
      start_for_buffer(bufnr, opts)
    end
  end
end

return M
