// npx nx run sim:bench: prints figures; the last line is one JSON object.
console.log(JSON.stringify({ bench: 'sim' }));
