// npx nx run matching-engine:bench: prints figures; the last line is one JSON object.
console.log(JSON.stringify({ bench: 'matching-engine' }));
