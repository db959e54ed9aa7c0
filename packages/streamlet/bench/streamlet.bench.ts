// npx nx run streamlet:bench: prints figures; the last line is one JSON object.
console.log(JSON.stringify({ bench: 'streamlet' }));
