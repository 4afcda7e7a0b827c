// clickstream's tracker: page views and clicks from a web page, posted to ingestion's POST /ingest/batch.
//
//   <script src="https://ingest.example/tracker.js" data-user-id="..." defer></script>
//
// data-user-id: whom the events belong to (default: an anonymous id kept in this browser's localStorage);
// data-endpoint: where to post (default: /ingest/batch beside this script); data-api-key: an ingest key, when
// ingestion requires one (it is public in the page: give it a key of its own, with a rate limit).
// window.clickstream.track(eventType) records an event of any other type.
//
// Every event gets its event_id here, in the browser, and keeps it until ingestion has acknowledged it: events not
// yet acknowledged stay in localStorage and are posted again (on the next flush, or the next page load), so a post
// whose answer was lost is retried, and ingestion counts it once. Leaving the page hands what is left to
// navigator.sendBeacon (a text/plain body, which needs no CORS preflight) when there is no key to send.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.clickstream) return;
  var data = script.dataset;
  var endpoint = data.endpoint || new URL('/ingest/batch', script.src).href;
  var apiKey = data.apiKey || '';
  var PENDING = 'clickstream:pending';
  var MAX_PENDING = 1000; // ingestion's default batch limit; beyond it the oldest are dropped
  var FLUSH_MS = 1000;
  var KEEPALIVE_BYTES = 60000; // browsers refuse keepalive requests and beacons over 64 KiB
  // Errors a later try may not meet (ingestion's JSON error codes): the events they refused are kept.
  var RETRY = { overloaded: true, rate_limited: true, unavailable: true, timeout: true, internal: true };
  var MAX_BACKOFF_MS = 30000;
  var backoff = FLUSH_MS;
  var timer = null;
  var sending = false;

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function storage() {
    try { return window.localStorage; } catch (e) { return null; } // blocked storage: memory only
  }
  var memory = [];
  function load() {
    var s = storage();
    if (!s) return memory;
    try { return JSON.parse(s.getItem(PENDING) || '[]'); } catch (e) { return []; }
  }
  function save(events) {
    events = events.slice(-MAX_PENDING);
    var s = storage();
    if (!s) { memory = events; return; }
    try { s.setItem(PENDING, JSON.stringify(events)); } catch (e) { memory = events; }
  }

  function userId() {
    if (data.userId) return data.userId;
    var s = storage();
    var id = s && s.getItem('clickstream:user');
    if (!id) {
      id = 'anon-' + randomId();
      if (s) s.setItem('clickstream:user', id);
    }
    return id;
  }
  var user = userId();

  function track(eventType) {
    var events = load();
    events.push({
      event_id: randomId(),
      user_id: user,
      event_type: String(eventType),
      page_url: location.href.split('#')[0],
      time_stamp: new Date().toISOString(),
    });
    save(events);
    schedule(FLUSH_MS);
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(function () { timer = null; flush(); }, ms);
  }

  // Drops the events ingestion answered for (accepted, or rejected for good: retrying cannot help them).
  function forget(ids) {
    save(load().filter(function (e) { return !ids[e.event_id]; }));
  }

  function flush() {
    var events = load();
    if (sending || events.length === 0) return;
    sending = true;
    var headers = { 'Content-Type': apiKey ? 'application/json' : 'text/plain' };
    if (apiKey) headers['X-API-Key'] = apiKey;
    var body = JSON.stringify(events);
    fetch(endpoint, { method: 'POST', headers: headers, body: body, keepalive: body.length < KEEPALIVE_BYTES })
      .then(function (response) {
        if (response.status === 200) {
          return response.json().then(function (answer) {
            var done = {};
            answer.results.forEach(function (r) {
              var e = events[r.index];
              if (e && (r.status === 'accepted' || !(r.error && RETRY[r.error.code]))) done[e.event_id] = true;
            });
            forget(done);
            backoff = FLUSH_MS;
          });
        }
        // A batch refused whole for good (400, 413, 415, 401/403: not fixed by waiting) would block every later
        // event: drop it. Anything else (429, 503, 5xx) is retried later with the same event_ids.
        if (response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408) {
          var all = {};
          events.forEach(function (e) { all[e.event_id] = true; });
          forget(all);
          return;
        }
        throw new Error('ingestion answered ' + response.status);
      })
      .catch(function () {
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      })
      .then(function () {
        sending = false;
        if (load().length > 0) schedule(backoff);
      });
  }

  // Leaving the page: a beacon outlives it. Its answer is never seen, so the events stay pending; if the beacon
  // arrived, posting them again on the next page load counts nothing twice.
  function leave() {
    var events = load();
    if (events.length === 0) return;
    var body = JSON.stringify(events);
    if (!apiKey && body.length < KEEPALIVE_BYTES && navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    flush();
  }

  document.addEventListener('click', function () { track('click'); }, true);
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') leave(); });
  window.addEventListener('pagehide', leave);
  window.clickstream = { track: track, flush: flush };
  track('page_view');
  if (load().length > 1) schedule(0); // a previous page's events, not yet acknowledged
})();
