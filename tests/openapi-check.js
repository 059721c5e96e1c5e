// openapi-check.js FILE - validates an OpenAPI document with
// @apidevtools/swagger-parser (installed in tests/node_modules by npm ci;
// no network).  Prints "valid" or the validator's complaint; exit 0 or 1.
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

SwaggerParser.validate(process.argv[2])
  .then((api) => { console.log(`valid ${api.openapi} ${Object.keys(api.paths).length} paths`); })
  .catch((err) => { console.error(err.message); process.exit(1); });
