// One load process of bench/scale: runs bench/lib/load.mjs with the JSON options in argv[2] and
// prints its result (with every latency, so that the parent can merge percentiles) as JSON.
import { load } from '../lib/load.mjs';

const result = await load(JSON.parse(process.argv[2]));
process.stdout.write(JSON.stringify(result));
