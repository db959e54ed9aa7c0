// npx nx run client:bench: prints figures; the last line is one JSON object.
console.log(JSON.stringify({ bench: 'client' }));
