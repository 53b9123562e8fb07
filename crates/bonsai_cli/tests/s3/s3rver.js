// Serves S3 on a free loopback port with one bucket, `packages`, stored
// under the directory given as the first argument; prints the port once
// listening, then serves until killed.
const S3rver = require('s3rver');

const directory = process.argv[2];
new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: 'packages' }],
})
  .run()
  .then(({ port }) => console.log(`port ${port}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
