/** `tsx bench/sync-child.ts <ours|baseline|baselineLoaded> <baseUrl> <apiKey> <dbFile> [concurrency]`: one sync, peak RSS. */
import { childMain } from "./src/SyncChild.js"

await childMain(process.argv.slice(2))
