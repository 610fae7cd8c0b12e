// NLP.js peer of `tools/bench peers`: node-nlp's NlpManager with its default settings (only
// autoSave off, so that training writes no model file), measured as kefu is measured.
//   node nlpjs_peer.js TRAIN.jsonl QUESTIONS.tsv SCORES.tsv LATENCIES.txt
// Needs node-nlp on NODE_PATH (the bench installs it in a scratch folder). Prints one JSON line
// with train_seconds and NLP.js's own threshold. SCORES.tsv has gold, NLP.js's top intent other
// than its "None" class, that intent's score, and the intent NLP.js answers with its own threshold
// ("None" below it, or when its None class wins). Latency: one
// `await manager.process('en', text)` per question (its whole default pipeline, as a user calls
// it), over three rounds; the first (warm-up) is not kept.
'use strict';
const fs = require('fs');
const { NlpManager } = require('node-nlp');

async function main() {
  const [trainPath, questionsPath, scoresPath, latenciesPath] = process.argv.slice(2);
  const manager = new NlpManager({ languages: ['en'], autoSave: false, nlu: { log: false } });
  for (const line of fs.readFileSync(trainPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line);
    if (row.intent !== 'oos') manager.addDocument('en', row.text, row.intent);
  }
  const start = process.hrtime.bigint();
  await manager.train();
  const trainSeconds = Number(process.hrtime.bigint() - start) / 1e9;

  const questions = fs.readFileSync(questionsPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => {
    const tab = l.indexOf('\t');
    return [l.slice(0, tab), l.slice(tab + 1)];
  });
  const scores = [];
  const latencies = [];
  for (let round = 0; round < 3; ++round) {
    for (const [gold, text] of questions) {
      const t0 = process.hrtime.bigint();
      const r = await manager.process('en', text);
      const micros = Number(process.hrtime.bigint() - t0) / 1e3;
      if (round > 0) {
        latencies.push(micros.toFixed(2));
      } else {
        // NLP.js's best in-scope guess: its top classification other than 'None' (its own
        // out-of-scope class, which also comes alone with score 1 when no word of the question is
        // known). Its score is the confidence that the calibration thresholds, as for every system.
        const known = (r.classifications || []).filter((c) => c.intent !== 'None');
        const top = known.length > 0 ? known[0] : { intent: 'None', score: 0 };
        scores.push(`${gold}\t${top.intent}\t${top.score}\t${r.intent}`);
      }
    }
  }
  fs.writeFileSync(scoresPath, scores.join('\n') + '\n');
  fs.writeFileSync(latenciesPath, latencies.join('\n') + '\n');
  const threshold = manager.nlp.settings.threshold;
  const version = require('node-nlp/package.json').version;
  console.log(JSON.stringify({ train_seconds: Number(trainSeconds.toFixed(3)), own_threshold: threshold, node_nlp: version }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
