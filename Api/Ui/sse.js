import { headers } from './api.js';

/**
 * Server-sent events over fetch (EventSource cannot send an Authorization header). Parses the text/event-stream
 * format (id, event, data, retry; comments are heartbeats), reconnects after a drop with Last-Event-ID set to the
 * last id seen, and backs off up to 10 s. onEvent({id, type, data}) gets data parsed as JSON when it is JSON.
 * onStatus(text) tells the page whether it is live. Returns stop().
 */
export function openStream(url, { onEvent, onStatus, onUnavailable }) {
  let stopped = false;
  let lastId = null;
  let retryMs = 1000;
  let controller = null;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const extra = { Accept: 'text/event-stream' };
        if (lastId !== null) extra['Last-Event-ID'] = lastId;
        const response = await fetch(url, { headers: headers(extra), signal: controller.signal, cache: 'no-store' });
        if (response.status === 404 || response.status === 405) {
          // This engine has no stream: the page polls instead.
          onUnavailable?.();
          return;
        }
        if (response.status === 401 || response.status === 403) {
          onStatus?.(`stream refused (${response.status})`, false);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onStatus?.('live', true);
        retryMs = 1000;
        await read(response.body);
        if (!stopped) onStatus?.('reconnecting…', false);
      } catch (e) {
        if (stopped || e?.name === 'AbortError') return;
        onStatus?.('reconnecting…', false);
      }
      if (stopped) return;
      await new Promise(r => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 10000);
    }
  }

  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = { id: null, type: 'message', data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer[newline] === '\r' && buffer[newline + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (event.data.length) dispatch(event);
          event = { id: null, type: 'message', data: [] };
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: the server's heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') event.data.push(value);
        else if (field === 'event') event.type = value;
        else if (field === 'id' && !value.includes('\0')) event.id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
      }
    }
  }

  function dispatch(event) {
    if (event.id !== null) lastId = event.id;
    const text = event.data.join('\n');
    let data = text;
    try { data = JSON.parse(text); } catch { /* not JSON: kept as text */ }
    if (event.type === 'heartbeat') return;
    onEvent({ id: event.id, type: event.type, data });
  }

  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
