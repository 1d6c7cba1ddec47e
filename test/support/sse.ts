// Reads GET /changes the way the console does: fetch() with the bearer
// header and a stream reader (EventSource would put the token in the URL).
export interface SseEvent {
  event: string;
  data: string;
}

/** A fetch()-based SSE reader, as the console uses (no EventSource: the token stays in a header). */
export async function openStream(url: string, token: string) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: data.join('\n') });
          for (const w of waiters) w();
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    for (const w of waiters) w();
  })();
  const until = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`stream: no ${what} within ${ms} ms; got ${JSON.stringify(events)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        waiters.add(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  return {
    res,
    events,
    comments,
    instanceEvents: () => events.filter((e) => e.event === 'instance').map((e) => JSON.parse(e.data)),
    until,
    get ended() {
      return ended;
    },
    close: async () => {
      ac.abort();
      await done;
    },
  };
}

