/** Party 1 entry point: `node dist/party1/main.js --dealer ws://… [--peer-port 7011] [--client-port 7001]`. */
import { partyMain } from '../shared/runtime/entry.js';

void partyMain(1, process.argv.slice(2));
