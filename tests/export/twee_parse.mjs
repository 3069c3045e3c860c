// Parse Twee 3 with extwee; print story name, IFID, start and passages as JSON.
// usage: node twee_parse.mjs EXTWEE_DIR FILE.twee
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";
const extwee = await import(pathToFileURL(path.join(process.argv[2], "index.js")).href);
const story = extwee.parseTwee(fs.readFileSync(process.argv[3], "utf8"));
process.stdout.write(JSON.stringify({
  name: story.name,
  ifid: story.IFID,
  start: story.start,
  format: story.format,
  passages: story.passages.map((p) => ({ name: p.name, tags: p.tags, text: p.text })),
}));
