#!/usr/bin/env node
// The imgfactory command: a thin launcher for the compiled CLI in dist/.
import { main } from '../dist/cli/main.js';
import { endQuietlyOnClosedPipe } from '../dist/cli/output.js';

endQuietlyOnClosedPipe();

process.exitCode = await main(process.argv.slice(2));
