/** A benchmark prints its own measurements and ratios; throw an Error to report it skipped. */
export interface Bench {
  name: string;
  description: string;
  run: () => Promise<void>;
}

export const benches: Bench[] = [];
benches.push((await import('./kpage.js')).kpageBench);
benches.push((await import('./mem.js')).memBench);
benches.push((await import('./filecache.js')).filecacheBench);
benches.push((await import('./inspect.js')).inspectBench);
benches.push((await import('./memleak.js')).memleakBench);
benches.push((await import('./agent.js')).agentBench);
benches.push((await import('./console.js')).consoleBench);
benches.push((await import('./runlatency.js')).runlatencyBench);
benches.push((await import('./io.js')).ioBench);
benches.push((await import('./profile.js')).profileBench);
benches.push((await import('./load.js')).loadBench);
benches.push((await import('./net.js')).netBench);
