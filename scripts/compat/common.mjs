// Shared by the client scripts of the compatibility suite: each scenario's
// outcome, or the error the client raised, as one JSON object on stdout.
//
// A script is run as `node CLIENT.mjs` with CATO_COMPAT_BASE_URL set to an
// OpenAI base URL ending in /v1 (the fake upstream, or Cato in front of it)
// and CATO_COMPAT_MODEL to the model to ask for.

import { z } from 'zod';

export const baseURL = process.env.CATO_COMPAT_BASE_URL;
export const model = process.env.CATO_COMPAT_MODEL ?? 'gpt-compat';
export const apiKey = 'compat-key';

export const capital = z.object({ city: z.string(), country: z.string() });
export const plainQuestion = 'What is the capital of France?';
export const weatherQuestion = 'What is the weather in Paris and Tokyo?';

// errorOf keeps what a client shows of an error, whatever its class.
export function errorOf(e) {
	const out = { name: e?.constructor?.name ?? typeof e };
	for (const k of ['status', 'statusCode', 'code', 'type', 'param', 'lc_error_code']) {
		if (e?.[k] !== undefined && e?.[k] !== null) out[k] = e[k];
	}
	if (e?.error && typeof e.error === 'object') out.error = e.error;
	if (typeof e?.responseBody === 'string') {
		try { out.responseBody = JSON.parse(e.responseBody); } catch { out.responseBody = e.responseBody; }
	}
	out.message = String(e?.message ?? e);
	return { error: out };
}

// run runs each scenario in order, each at most 20 s, and prints the
// outcomes.
export async function run(scenarios) {
	const out = {};
	for (const [name, fn] of Object.entries(scenarios)) {
		let timer;
		try {
			out[name] = await Promise.race([
				fn(),
				new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('scenario timed out')), 20000); }),
			]);
		} catch (e) {
			out[name] = errorOf(e);
		} finally {
			clearTimeout(timer);
		}
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}
