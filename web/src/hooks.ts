import { useEffect, useRef, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads with `f`, again every `everyMs` when given (paused while the tab is hidden). */
export function useLoad<T>(f: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const fn = useRef(f);
  fn.current = f;
  useEffect(() => {
    let alive = true;
    const run = (): void => {
      if (document.hidden && data !== undefined) return;
      fn.current().then(
        (d) => {
          if (!alive) return;
          setData(d);
          setError(undefined);
        },
        (e: unknown) => {
          if (alive) setError(e instanceof Error ? e.message : String(e));
        },
      );
    };
    run();
    const timer = everyMs ? setInterval(run, everyMs) : undefined;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick, everyMs]);
  return { data, error, reload: () => setTick((x) => x + 1) };
}
