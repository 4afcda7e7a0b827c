// The gateway's HTTP API, asked from the page's own origin with the API key the user gave, if any.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function createApi(apiKey) {
  async function get(path, parameters) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(parameters)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
    }
    const headers = {};
    const key = apiKey();
    if (key) headers['X-API-Key'] = key;
    let response;
    try {
      response = await fetch(url, { headers, cache: 'no-store' });
    } catch (error) {
      throw new ApiError(0, 'unreachable', `the gateway did not answer (${error.message})`);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, body?.error ?? 'http_error', body?.message ?? response.statusText);
    }
    return body;
  }

  return {
    topPages: ({ userId, limit }) => get('/analytics/top-pages', { user_id: userId, limit }),
    eventTypes: ({ limit }) => get('/analytics/event-types', { limit }),
    clicksOverTime: ({ from, to, bucket, timeZone }) =>
      get('/analytics/clicks-over-time', { from, to, bucket, time_zone: timeZone }),
    count: ({ userId, pageUrl }) => get('/analytics/events', { user_id: userId, page_url: pageUrl }),
  };
}
