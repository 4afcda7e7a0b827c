// The live dashboard: totals, top pages, event types and clicks over time, refreshed every few seconds, and one
// user's pages with the exact count of a pair and how fresh it is. Settings live in the address (#user=...), the
// API key in the tab's session storage.
import './dashboard.css';
import { ApiError, createApi } from './api.js';
import { createChart } from './chart.js';
import { action, count, formatCount, rank, renderRows, text } from './tables.js';
import { browserTimeZone, bucketFor, formatInstant, instantOfWallTime, timeZones, wallTimeOf } from './time.js';

const REFRESH_MS = 2000;
const TOP_PAGES = 20;
const EVENT_TYPES = 1000; // the gateway's most: all of them, for the total

const $ = (id) => document.getElementById(id);
const api = createApi(() => sessionStorage.getItem('clickstream-api-key'));
const showSeries = createChart($('chart'));
let timer = null;
let refreshing = false;

function selectedUser() {
  const match = /(?:^#|&)user=([^&]*)/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : '';
}

function timeZone() {
  return $('time-zone').value || 'UTC';
}

// The series asked for: a preset range ending now, or the custom one in the chosen zone.
function seriesQuery() {
  const zone = timeZone();
  let from;
  let to;
  if ($('range').value === 'custom' && $('from').value && $('to').value) {
    from = instantOfWallTime($('from').value, zone);
    to = instantOfWallTime($('to').value, zone);
  } else {
    to = new Date();
    from = new Date(to.getTime() - Number($('range').value === 'custom' ? 3600 : $('range').value) * 1000);
  }
  const seconds = Math.max(60, (to - from) / 1000);
  const bucket = $('bucket').value === 'auto' ? bucketFor(seconds) : $('bucket').value;
  return { from: from.toISOString(), to: to.toISOString(), bucket, timeZone: zone };
}

function renderSeries(series, query) {
  $('range-total').textContent = formatCount(series.total);
  showSeries(series.points, query.timeZone);
  const rows = series.points.map((p) => ({ label: formatInstant(new Date(p.start), query.timeZone, query.bucket), clicks: p.clicks, start: p.start }));
  renderRows($('series-table').tBodies[0], rows, (r) => r.start, [text('label'), count('clicks')]);
  const newest = series.points.findLast((p) => p.clicks > 0);
  $('newest').textContent = newest ? `in the ${query.bucket} from ${formatInstant(new Date(newest.start), query.timeZone, query.bucket)}` : 'none in range';
}

function renderEventTypes(answer) {
  const all = answer.event_types.reduce((sum, t) => sum + t.clicks, 0);
  // At the limit there may be more types than were answered: the sum is then a lower bound.
  $('all-total').textContent = formatCount(all) + (answer.event_types.length >= EVENT_TYPES ? '+' : '');
  renderRows($('event-types').tBodies[0], answer.event_types, (t) => t.event_type, [text('event_type'), count('clicks')]);
}

function renderTopPages(answer) {
  renderRows($('top-pages').tBodies[0], answer.pages, (p) => p.page_url, [rank, text('page_url'), count('clicks'), count('users')]);
}

// How current the numbers on screen are, from the freshness of each answer (each read in a database snapshot of its
// own): the least current of them, so that nothing shown is older than it says.
function describeFreshness(answers, timeZone) {
  const known = answers.map((a) => a && a.freshness).filter(Boolean);
  if (known.length === 0) return '';
  const age = Math.max(...known.map((f) => f.age_ms ?? -1));
  const lags = known.map((f) => f.lag);
  const lag = lags.includes(null) || lags.includes(undefined) ? null : Math.max(...lags);
  const newest = known.map((f) => f.newest_event_time).filter(Boolean).map((t) => new Date(t)).sort((a, b) => a - b)[0];
  const parts = [];
  if (newest) {
    const at = new Intl.DateTimeFormat(undefined, { timeZone, dateStyle: 'short', timeStyle: 'medium' }).format(newest);
    parts.push(`newest event counted ${at}`);
  }
  parts.push(age >= 0 ? `last batch applied ${formatCount(age)} ms before` : 'nothing applied yet');
  parts.push(lag === null ? 'records waiting unknown' : `${formatCount(lag)} records not yet applied`);
  return ` The numbers: ${parts.join('; ')}.`;
}

async function showPair(userId, pageUrl) {
  const pair = $('pair');
  pair.textContent = 'Asking…';
  try {
    const answer = await api.count({ userId, pageUrl });
    const f = answer.freshness;
    // age_ms grows while nothing new arrives; lag tells whether anything is waiting (the README's freshness table).
    const fresh = f ? ` Read from the ${f.source}, last updated ${formatCount(f.age_ms ?? 0)} ms before; ${f.lag ?? '?'} records not yet applied.` : '';
    pair.textContent = `${userId} clicked ${pageUrl} ${formatCount(answer.count)} times.${fresh}`;
  } catch (error) {
    pair.textContent = `No count: ${error.message}`;
  }
}

function renderUser(userId, answer) {
  $('user-view').hidden = false;
  $('user-name').textContent = userId;
  renderRows($('user-pages').tBodies[0], answer.pages, (p) => p.page_url,
    [rank, text('page_url'), count('clicks'), action('Exact count', (p) => showPair(userId, p.page_url))]);
}

function showProblem(error) {
  const problem = $('problem');
  if (!error) {
    problem.hidden = true;
    return;
  }
  problem.hidden = false;
  problem.textContent = error instanceof ApiError ? `${error.message} (${error.status || 'no answer'} ${error.code})` : String(error);
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) $('key-form').hidden = false;
}

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  const query = seriesQuery();
  const user = selectedUser();
  try {
    const [series, types, pages, userPages] = await Promise.all([
      api.clicksOverTime(query),
      api.eventTypes({ limit: EVENT_TYPES }),
      api.topPages({ limit: TOP_PAGES }),
      user ? api.topPages({ userId: user, limit: TOP_PAGES }) : null,
    ]);
    renderSeries(series, query);
    renderEventTypes(types);
    renderTopPages(pages);
    if (user) renderUser(user, userPages);
    else $('user-view').hidden = true;
    showProblem(null);
    const at = new Intl.DateTimeFormat(undefined, { timeZone: query.timeZone, timeStyle: 'medium' }).format(new Date());
    $('freshness').textContent = `Updated ${at} (${query.timeZone}); refreshed every ${REFRESH_MS / 1000} s.` +
      describeFreshness([series, types, pages, userPages], query.timeZone);
    document.body.dataset.refreshed = String(Date.now());
  } catch (error) {
    showProblem(error);
    $('freshness').textContent = 'Not updated: see the problem above.';
  } finally {
    refreshing = false;
  }
}

function refreshSoon() {
  clearTimeout(timer);
  refresh().finally(() => {
    clearTimeout(timer);
    timer = setTimeout(refreshSoon, REFRESH_MS);
  });
}

function setUp() {
  const zones = $('time-zone');
  for (const zone of timeZones()) zones.add(new Option(zone, zone));
  zones.value = browserTimeZone();

  $('range').addEventListener('change', () => {
    const custom = $('range').value === 'custom';
    for (const label of document.querySelectorAll('.custom')) label.hidden = !custom;
    if (custom && !$('from').value) {
      const now = new Date();
      $('from').value = wallTimeOf(new Date(now.getTime() - 86400 * 1000), timeZone());
      $('to').value = wallTimeOf(now, timeZone());
    }
    refreshSoon();
  });
  for (const id of ['from', 'to', 'bucket', 'time-zone']) $(id).addEventListener('change', refreshSoon);

  $('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    window.location.hash = `user=${encodeURIComponent($('user-id').value.trim())}`;
  });
  window.addEventListener('hashchange', () => {
    $('user-id').value = selectedUser();
    $('pair').textContent = '';
    refreshSoon();
  });
  $('user-id').value = selectedUser();

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('clickstream-api-key', $('api-key').value);
    $('key-form').hidden = true;
    refreshSoon();
  });

  refreshSoon();
}

setUp();
