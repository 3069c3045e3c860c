// Compile Ink source with inkjs and play every choice path; print JSON to stdout.
// usage: node ink_play.cjs INKJS_DIR FILE.ink
const fs = require("fs");
const path = require("path");
const ink = require(path.join(process.argv[2], "dist", "ink-full.js"));
const source = fs.readFileSync(process.argv[3], "utf8");
const result = { errors: [], warnings: [], paths: [] };
let story;
const compiler = new ink.Compiler(source);
try {
  story = compiler.Compile();
  result.warnings = compiler.warnings || [];
} catch (e) {
  result.errors = (compiler.errors || []).concat([String(e && e.message ? e.message : e)]);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}
story.onError = (message) => result.errors.push(String(message));
function walk(state, transcript, depth) {
  story.state.LoadJson(state);
  const lines = transcript.slice();
  while (story.canContinue) {
    const text = story.Continue();
    // a choice with no content of its own ends in an empty line: not a line of dialogue
    if (text.trim() !== "") lines.push({ text: text.replace(/\n$/, ""), tags: story.currentTags.slice() });
  }
  const choices = story.currentChoices.map((c) => ({ text: c.text, tags: c.tags || [] }));
  if (choices.length === 0 || depth > 2000 || result.paths.length >= 5000) {
    result.paths.push(lines);
    return;
  }
  const here = story.state.ToJson();
  choices.forEach((choice, index) => {
    story.state.LoadJson(here);
    story.ChooseChoiceIndex(index);
    walk(story.state.ToJson(), lines.concat([{ choice: choice.text, tags: choice.tags }]), depth + 1);
  });
}
walk(story.state.ToJson(), [], 0);
process.stdout.write(JSON.stringify(result));
