#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping); the container
// image runs the tsc output in dist/ instead.
import '../src/cli.ts';
