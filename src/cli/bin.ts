#!/usr/bin/env node
// The `wormseal` command. For verify and verify-bundle it may first start itself again with
// huge-page malloc (relaunch.ts); it does so before loading the CLI, which costs more than Node
// itself to start. Everything else is main.ts.
import { relaunchWithHugePages, wantsHugePages } from './relaunch.js';

const code = wantsHugePages(process.argv.slice(2)) ? await relaunchWithHugePages() : undefined;
if (code === undefined) await import('./main.js');
else process.exitCode = code;
