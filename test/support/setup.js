'use strict';
// Loaded by mocha before any spec (see .mocharc.json).
process.env.NODE_ENV = process.env.NODE_ENV || 'test';
