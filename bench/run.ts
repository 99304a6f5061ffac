/** `pnpm bench` (root script `tsx bench/run.ts`). Flags: `--no-readme` leaves README.md alone;
 * `--cpu-prof` writes V8 CPU profiles of the sync children to bench/results/profiles/; `--only sync,retrieve,rss`
 * runs only those parts (see `Suite.benchParts`) and leaves README.md alone; `--only fleet` runs figures 10 and 11
 * alone (PostgreSQL and Redis) and replaces their README rows. */
import { main } from "./src/Main.js"

await main(process.argv.slice(2))
