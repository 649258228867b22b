package engine

// ReportStartsDeployment decides whether an outside CD's report of status
// for a candidate in an environment records a new deployment (true) or
// updates last, the status of the latest deployment of that candidate
// there that the CD reported ("" for none). newest says whether that one
// is still the environment's latest deployment of any kind.
//
// A deployment that ended (success, failure, canceled) never changes: a
// CD that deploys the candidate again (a rollback, a redeploy) is making a
// new deployment, and writing over the old one would drop it from the
// history and, were it older than what runs there now, leave what runs
// where naming the other candidate. A report repeating the ended one's
// status while it is still the latest is the same report again (a CD
// retrying), not a new deployment.
func ReportStartsDeployment(last string, newest bool, status string) bool {
	switch last {
	case "":
		return true
	case "success", "failure", "canceled":
		return !(newest && status == last)
	}
	return false
}
