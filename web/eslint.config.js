// ESLint for Hearth's own JavaScript: the browser modules and their Node tests. `make test`
// runs it from the repository's top level, where the paths below are rooted:
//   web/node_modules/.bin/eslint --config web/eslint.config.js web/static/js tests/js
import js from "@eslint/js";
import globals from "globals";

export default [
  // Third-party code is vendored as published, never edited.
  { ignores: ["web/static/vendor/"] },
  js.configs.recommended,
  {
    files: ["web/static/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
