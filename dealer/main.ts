/** Dealer entry point: `node dist/dealer/main.js [--port 7100] [--host 127.0.0.1] [--timeout-ms 30000]`. */
import { dealerMain } from '../shared/runtime/entry.js';

void dealerMain(process.argv.slice(2));
