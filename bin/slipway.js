#!/usr/bin/env node
import '../dist/slipway.mjs';
