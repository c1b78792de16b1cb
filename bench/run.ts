/**
 * `make bench`: runs every benchmark and prints ratios against the peers measured in the same run.
 * Benchmarks register in ./benches.ts; `node dist/bench/run.js NAME...` runs a subset.
 */
import { benches } from './benches.js';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const chosen = benches.filter((b) => wanted.length === 0 || wanted.includes(b.name));
  if (chosen.length === 0) {
    console.error(`no benchmark matches ${wanted.join(' ')}; known: ${benches.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const b of chosen) {
    console.log(`== ${b.name}: ${b.description}`);
    try {
      await b.run();
    } catch (err) {
      console.log(`   skipped: ${(err as Error).message}`);
    }
  }
}

await main();
