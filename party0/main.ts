/** Party 0 entry point: `node dist/party0/main.js --dealer ws://… --peer ws://<party1>:7011 [--client-port 7000]`. */
import { partyMain } from '../shared/runtime/entry.js';

void partyMain(0, process.argv.slice(2));
