// Opens the RPC pool's dashboard in Debian's headless Chromium (puppeteer-core) and checks what a
// person sees: every node listed, the penalised node marked, the charts drawn, no script errors and
// no Content-Security-Policy violations; saves a screenshot. Exits 0 when all hold, 1 otherwise.
//
// node dashboard.js --url http://127.0.0.1:PORT/ --chromium /usr/bin/chromium --out DIR
//                   --profile DIR --nodes node-a,node-b --penalised node-b
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

// The whole run is bounded: on expiry the browser's process group is killed and the script fails.
const OVERALL_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 30_000;
const BROWSER_EXIT_TIMEOUT_MS = 10_000;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error('bad argument ' + argv[i]);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const needed of ['url', 'chromium', 'out', 'profile', 'nodes', 'penalised']) {
    if (!args[needed]) throw new Error('missing --' + needed);
  }
  return args;
}

function check(condition, message) {
  if (!condition) throw new Error('check failed: ' + message);
  console.log('ok: ' + message);
}

// killBrowser ends the browser's process group (puppeteer starts it detached, as a group leader).
// The group is signalled even when the leader has exited: its renderers and zygotes may still be
// on their way out, and they stay in the leader's group.
function killBrowser(browser) {
  const child = browser && browser.process();
  if (!child) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

// browserProcesses lists the live processes (not zombies) whose command line names the browser's
// profile directory, other than this script, whose own arguments name it too.
function browserProcesses(profile) {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline;
    let stat;
    try {
      cmdline = fs.readFileSync('/proc/' + name + '/cmdline');
      stat = fs.readFileSync('/proc/' + name + '/stat', 'utf8');
    } catch {
      continue;  // it exited while the directory was read
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'Z' && cmdline.includes(profile)) found.push(Number(name));
  }
  return found;
}

// awaitBrowserGone waits, up to a bound, until no process of the browser is left, so the script
// never exits while one of them is still shutting down.
async function awaitBrowserGone(profile) {
  const deadline = Date.now() + BROWSER_EXIT_TIMEOUT_MS;
  for (;;) {
    const left = browserProcesses(profile);
    if (left.length === 0) return true;
    if (Date.now() >= deadline) {
      console.error('browser processes still running: ' + left.join(' '));
      return false;
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function run(args, state) {
  state.browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    userDataDir: args.profile,
    // --no-sandbox: Chromium's sandbox cannot start as root (CI); the page is our own, on loopback.
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--hide-scrollbars'],
    defaultViewport: { width: 1280, height: 900, deviceScaleFactor: 1 },
    timeout: STEP_TIMEOUT_MS,
  });
  const page = await state.browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on('pageerror', (error) => problems.push('page error: ' + error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push('console error: ' + message.text());
  });
  page.on('requestfailed', (request) => problems.push('request failed: ' + request.url()));

  const response = await page.goto(args.url, { waitUntil: 'load' });
  check(response.status() === 200, 'the page answers 200');
  const headers = response.headers();
  check((headers['content-security-policy'] || '').includes("script-src 'self'"),
    'the page has a Content-Security-Policy without inline scripts');
  check(headers['x-content-type-options'] === 'nosniff', 'the page says nosniff');

  await page.waitForSelector('body[data-loaded="1"]');
  const nodes = args.nodes.split(',');
  const shown = await page.$$eval('#nodes tbody tr', (rows) => rows.map((row) => ({
    id: row.querySelector('td').textContent,
    state: row.dataset.state,
    penalised: row.classList.contains('penalised'),
    badge: row.querySelector('.badge').textContent,
  })));
  for (const id of nodes) check(shown.some((row) => row.id === id), 'node ' + id + ' is listed');
  for (const row of shown) {
    const expected = row.id === args.penalised;
    check(row.penalised === expected && (row.badge === 'penalised') === expected,
      'node ' + row.id + (expected ? ' is marked penalised' : ' is not marked penalised'));
  }
  const name = await page.$eval('#pool-name', (element) => element.textContent);
  check(name.length > 0 && name !== 'RPC pool', 'the pool\'s name is shown: ' + name);
  const fee = await page.$eval('#pool-fee', (element) => element.textContent);
  check(/%/.test(fee), 'the fee is shown: ' + fee);
  const penaltyEvents = await page.$$eval('#events tbody tr', (rows, id) => rows.filter((row) =>
    row.children.length === 4 && row.children[1].textContent === id &&
    row.children[2].textContent === 'penalised').length, args.penalised);
  check(penaltyEvents >= 1, 'the penalty is in the recent events');

  // A chart is drawn when its canvas has pixels of more than one colour (not blank).
  const drawn = await page.$$eval('canvas', (canvases) => canvases.map((canvas) => {
    const context = canvas.getContext('2d');
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) ++painted;
    return { id: canvas.id || canvas.closest('tr')?.dataset.node, painted, flag: canvas.dataset.drawn };
  }));
  check(drawn.length === nodes.length + 1, 'a chart per node and one for the pool');
  for (const chart of drawn) {
    check(chart.flag === '1' && chart.painted > 50, 'chart ' + chart.id + ' is drawn (' + chart.painted + ' pixels)');
  }

  const screenshot = path.join(args.out, 'dashboard.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log('screenshot: ' + screenshot);
  check(problems.length === 0, 'no script errors or failed requests' +
    (problems.length ? ': ' + problems.join('; ') : ''));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const state = { browser: null };
  const timer = setTimeout(() => {
    console.error('timed out after ' + OVERALL_TIMEOUT_MS + ' ms');
    killBrowser(state.browser);
    process.exit(1);
  }, OVERALL_TIMEOUT_MS);
  let failed = false;
  try {
    await run(args, state);
  } catch (error) {
    console.error(error.stack || String(error));
    failed = true;
  } finally {
    if (state.browser) {
      await state.browser.close().catch(() => {});
      killBrowser(state.browser);  // a hung browser, or children still exiting, end here
      if (!(await awaitBrowserGone(args.profile))) failed = true;
    }
    clearTimeout(timer);
  }
  process.exit(failed ? 1 : 0);
}

// puppeteer's own SIGINT/SIGTERM/SIGHUP handlers close the browser if the script is stopped.
main();
