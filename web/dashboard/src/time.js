// Ranges, buckets and wall-clock times in a chosen IANA time zone. The gateway sums minutes into the zone's hours and
// days itself (DST included); here we only pick the range, show instants, and read what a user typed.

// The gateway answers at most 10,000 buckets: minutes up to 3 hours, hours up to 4 days (so 7 days of minutes is
// never asked), days beyond.
export function bucketFor(seconds) {
  if (seconds <= 3 * 3600) return 'minute';
  if (seconds <= 4 * 86400) return 'hour';
  return 'day';
}

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function timeZones() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

const wallClock = new Map();
function partsIn(timeZone, date) {
  if (!wallClock.has(timeZone)) {
    wallClock.set(timeZone, new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    }));
  }
  const parts = {};
  for (const { type, value } of wallClock.get(timeZone).formatToParts(date)) parts[type] = Number(value);
  return parts;
}

// How far the zone's wall clock is ahead of UTC at `date`, in milliseconds.
function offsetAt(timeZone, date) {
  const p = partsIn(timeZone, date);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

// The instant a datetime-local value ("2026-03-08T02:30") names in `timeZone`. A wall time skipped by a DST change
// resolves to the instant after the gap, as the second look-up of the offset settles.
export function instantOfWallTime(value, timeZone) {
  const [date, time = '00:00'] = value.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute] = time.split(':').map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let instant = wall - offsetAt(timeZone, new Date(wall));
  instant = wall - offsetAt(timeZone, new Date(instant));
  return new Date(instant);
}

// A datetime-local value for `date` as the zone's wall clock shows it.
export function wallTimeOf(date, timeZone) {
  const p = partsIn(timeZone, date);
  const two = (n) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

export function formatInstant(date, timeZone, bucket = 'minute') {
  const options = { timeZone, year: 'numeric', month: 'short', day: 'numeric' };
  if (bucket !== 'day') Object.assign(options, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return new Intl.DateTimeFormat(undefined, options).format(date);
}
