// jobactions.js - Cancel and Retry of a job (POST /api/jobs/{id}/cancel,
// /retry), shared by the Jobs page and the job page.
import { api, enc } from './api.js';
import { toast, toastError } from './ui.js';

export const canRetry = (j) => j.state === 'failed' || j.state === 'canceled';
export const canCancel = (j) => j.state === 'queued' || j.state === 'running';

// verb: 'retry' | 'cancel'.  Resolves to the job as it is now, or null.
export async function jobAction(job, verb) {
	if (verb === 'cancel' && !confirm('Cancel this job? A booth still waiting for it gets an error.'))
		return null;
	try {
		const j = await api('POST', 'jobs/' + enc(job.id) + '/' + verb, {});
		toast(verb === 'retry' ? 'Retrying: the job is queued again' : 'Job canceled', 'success');
		return j;
	} catch (e) {
		toastError(e, verb === 'retry' ? 'Retry failed' : 'Cancel failed');
		return null;
	}
}
