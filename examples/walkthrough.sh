#!/usr/bin/env bash
# A first walk-through of the coordinator's REST API with curl and jq: one change taken
# through the whole approval workflow, from enrolling the servers to verifying the audit
# chain. It prints every step and the interesting part of each answer, and stops with a
# non-zero status at the first answer it did not expect. The integration suite runs it
# (backend/tests/api/walkthrough.rs), so what it shows is what the service does.
#
# Settings (environment):
#   COORDINATOR_URL   the coordinator's base URL (default http://127.0.0.1:3000)
#   ADMIN_USERNAME    the admin's username (default admin)
#   ADMIN_PASSWORD    the admin's password (required)
#   WALKTHROUGH_TAG   optional; set it (to 2, 3, ...) to run the walk-through again against
#                     the same data: people, servers, ids and the machine get this suffix
#
# Example:
#   ADMIN_PASSWORD='choose-a-long-password' ./scripts/run.sh        # in one terminal
#   ADMIN_PASSWORD='choose-a-long-password' examples/walkthrough.sh # in another
set -euo pipefail

for tool in curl jq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: the walk-through needs $tool (Debian: apt-get install $tool)" >&2
        exit 1
    fi
done

COORD="${COORDINATOR_URL:-http://127.0.0.1:3000}"
COORD="${COORD%/}"
API="$COORD/api/v1"
ADMIN_USERNAME="${ADMIN_USERNAME:-admin}"
if [ -z "${ADMIN_PASSWORD:-}" ]; then
    echo "error: set ADMIN_PASSWORD to the admin's password" >&2
    exit 1
fi
TAG="${WALKTHROUGH_TAG:-}"
SFX="${TAG:+-$TAG}"
MACHINE="${TAG:+walkthrough-$TAG}"
MACHINE="${MACHINE:-default}"
CORRELATION="change-2026-0042$SFX"
PASSWORD='another-long-password'

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# --- helpers --------------------------------------------------------------------------

step() { printf '\n==> %s\n' "$*"; }
show() { printf '%s\n' "$*"; }
fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# call EXPECTED METHOD PATH [curl options...]: sends the request, prints nothing, and writes
# the answer's body to standard output; stops the script when the status is not EXPECTED
# (one status, or several separated by |).
call() {
    local expected="$1" method="$2" path="$3" status
    shift 3
    status=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "$API$path" "$@") ||
        fail "$method $path: curl failed"
    if [[ "|$expected|" != *"|$status|"* ]]; then
        printf 'error: %s %s answered %s, expected %s:\n' "$method" "$path" "$status" "$expected" >&2
        # Keys and tokens in the answer are not printed.
        jq -c '(.. | objects | select(has("apiKey") or has("token") or has("enrollmentKey")
                or has("approvalToken"))) |= with_entries(select(.key |
                IN("apiKey", "token", "enrollmentKey", "approvalToken") | not))' \
            "$WORK/body" >&2 2>/dev/null || cat "$WORK/body" >&2
        echo >&2
        exit 1
    fi
    cat "$WORK/body"
}

# check JSON FILTER WHAT: stops the script unless the jq FILTER holds for JSON.
check() {
    jq -e "$2" >/dev/null <<<"$1" || fail "unexpected answer ($3): $1"
}

json() { jq -cn "$@"; }
bearer() { printf 'Authorization: Bearer %s' "$1"; }
api_key() { printf 'X-API-Key: %s' "$1"; }
JSON='Content-Type: application/json'

login() {
    call 200 POST /auth/login -H "$JSON" \
        -d "$(json --arg u "$1" --arg p "$2" '{username: $u, password: $p}')" | jq -r .token
}

# approval_token TOKEN REASON [PROPOSAL]: a fresh approval token of the person signed in
# with TOKEN, bound to PROPOSAL when given.
approval_token() {
    local body
    if [ -n "${3:-}" ]; then
        body=$(json --arg r "$2" --argjson p "$3" '{reason: $r, proposalId: $p}')
    else
        body=$(json --arg r "$2" '{reason: $r}')
    fi
    call 201 POST /auth/approval-token -H "$(bearer "$1")" -H "$JSON" -d "$body" |
        jq -r .approvalToken
}

show "Walking through the coordinator at $COORD (machine \`$MACHINE\`, change \`$CORRELATION\`)"

# --- servers --------------------------------------------------------------------------

step "Sign in as the admin and read what the role may do"
TOKEN=$(login "$ADMIN_USERNAME" "$ADMIN_PASSWORD")
ANSWER=$(call 200 GET /auth/permissions -H "$(bearer "$TOKEN")")
show "$(jq -c '{role, permissions}' <<<"$ANSWER")"
check "$ANSWER" '.role == "admin"' "the admin's role"

step "Create a single-use enrollment key for a compliance server on machine $MACHINE"
ANSWER=$(call 201 POST /servers/enrollment-keys -H "$(bearer "$TOKEN")" -H "$JSON" \
    -d "$(json --arg m "$MACHINE" '{kind: "compliance", machineId: $m}')")
show "$(jq -c 'del(.enrollmentKey)' <<<"$ANSWER")"
ENROLLMENT_KEY=$(jq -r .enrollmentKey <<<"$ANSWER")

COMPLIANCE="compliance-server$SFX"
step "Register the compliance server $COMPLIANCE with that key"
ANSWER=$(call 201 POST /servers/register -H "X-Enrollment-Key: $ENROLLMENT_KEY" -H "$JSON" \
    -d "$(json --arg id "$COMPLIANCE" --arg m "$MACHINE" '{
            serverId: $id, machineId: $m, version: "1.0.0",
            tools: ["compliance_assessment", "generate_remediation_proposal"],
            health: {status: "healthy", uptime: 3600}}')")
show "$(jq -c 'del(.apiKey)' <<<"$ANSWER")"
API_KEY=$(jq -r .apiKey <<<"$ANSWER")

step "Ping as that server: without a health report, then reporting itself degraded, then healthy"
show "$(call 200 POST "/servers/$COMPLIANCE/ping" -H "$(api_key "$API_KEY")" | jq -c)"
for health in degraded healthy; do
    ANSWER=$(call 200 POST "/servers/$COMPLIANCE/ping" -H "$(api_key "$API_KEY")" -H "$JSON" \
        -d "$(json --arg h "$health" '{health: {status: $h}}')")
    show "$(jq -c <<<"$ANSWER")"
    check "$ANSWER" ".status == \"$health\"" "the ping's status"
done

step "List the servers"
call 200 GET "/servers?machineId=$MACHINE" -H "$(bearer "$TOKEN")" |
    jq -c '.servers[] | {id, kind, machineId, version, status}'

step "Use the enrollment key again, for another new server: refused, and audited"
ANSWER=$(call 409 POST /servers/register -H "X-Enrollment-Key: $ENROLLMENT_KEY" -H "$JSON" \
    -d "$(json --arg id "$COMPLIANCE-2" '{serverId: $id, version: "1.0.0"}')")
show "$(jq -c <<<"$ANSWER")"
check "$ANSWER" '.error.code == "token_used"' "a spent enrollment key"

step "Read the audit log, newest first"
call 200 GET "/audit/logs?limit=10" -H "$(bearer "$TOKEN")" |
    jq -c '.logs[] | {id, actor, action, target, result}'

step "Export it as CSV (the first lines)"
call 200 GET "/audit/export?format=csv" -H "$(bearer "$TOKEN")" >"$WORK/audit.csv"
head -n 3 "$WORK/audit.csv"

step "Verify the chain"
ANSWER=$(call 200 GET /audit/verify -H "$(bearer "$TOKEN")")
show "$(jq -c <<<"$ANSWER")"
check "$ANSWER" '.verified == true' "the chain verifies"

step "Rotate the server's key: register again with the current API key"
ANSWER=$(call 201 POST /servers/register -H "$(api_key "$API_KEY")" -H "$JSON" \
    -d "$(json --arg id "$COMPLIANCE" --arg m "$MACHINE" '{
            serverId: $id, machineId: $m, version: "1.1.0",
            tools: ["compliance_assessment", "generate_remediation_proposal"]}')")
show "$(jq -c 'del(.apiKey)' <<<"$ANSWER")"
check "$ANSWER" '.rotated == true' "a rotated key"
OLD_KEY="$API_KEY"
API_KEY=$(jq -r .apiKey <<<"$ANSWER")
call 401 POST "/servers/$COMPLIANCE/ping" -H "$(api_key "$OLD_KEY")" >/dev/null
show "the old key is refused with 401; the new one works"

# --- the approval workflow ------------------------------------------------------------

step "Create the people: Alice and Bob approve, Carol asks and proposes"
ALICE_NAME="alice$SFX" BOB_NAME="bob$SFX" CAROL_NAME="carol$SFX"
create_user() {
    call 201 POST /users -H "$(bearer "$TOKEN")" -H "$JSON" \
        -d "$(json --arg u "$1" --arg r "$2" --arg p "$PASSWORD" \
            '{username: $u, password: $p, role: $r}')" | jq -c '.user | {id, username, role}'
}
create_user "$ALICE_NAME" approver
create_user "$BOB_NAME" approver
create_user "$CAROL_NAME" user

step "Sign them in, one token each"
ALICE=$(login "$ALICE_NAME" "$PASSWORD")
BOB=$(login "$BOB_NAME" "$PASSWORD")
CAROL=$(login "$CAROL_NAME" "$PASSWORD")
show "three tokens"

INSTALLER="generic-mcp-installer$SFX"
step "Register the installer $INSTALLER on machine $MACHINE"
INSTALLER_ENROLLMENT_KEY=$(call 201 POST /servers/enrollment-keys -H "$(bearer "$TOKEN")" \
    -H "$JSON" -d "$(json --arg m "$MACHINE" '{kind: "installer", machineId: $m}')" |
    jq -r .enrollmentKey)
ANSWER=$(call 201 POST /servers/register -H "X-Enrollment-Key: $INSTALLER_ENROLLMENT_KEY" \
    -H "$JSON" -d "$(json --arg id "$INSTALLER" --arg m "$MACHINE" '{
            installerId: $id, machineId: $m, version: "1.0.0",
            capabilities: ["install_server", "remove_server", "update_server", "generate_config"],
            contact: {email: "ops@example.com"}}')")
show "$(jq -c 'del(.apiKey)' <<<"$ANSWER")"
INSTALLER_KEY=$(jq -r .apiKey <<<"$ANSWER")

step "Carol requests an assessment, under the correlation id $CORRELATION"
REQUEST=$(json --arg r "assessment-123$SFX" --arg m "$MACHINE" '{
    requestId: $r, machineId: $m, assessmentType: "compliance",
    options: {includeDetails: true, generateReport: true, autoApprove: true},
    targetServers: ["filesystem", "postgres"]}')
ANSWER=$(call 201 POST /assessments -H "$(bearer "$CAROL")" -H "X-Correlation-Id: $CORRELATION" \
    -H "$JSON" -d "$REQUEST")
show "$(jq -c 'del(.assessments)' <<<"$ANSWER")"
check "$ANSWER" '.requiresApproval == true and .autoExecuted == false and .autoApproveIgnored == true' \
    "autoApprove is ignored"
ASSESSMENT=$(jq -r .assessmentId <<<"$ANSWER")

step "Send the same request again (200, the same assessment), then other content under its requestId (409)"
ANSWER=$(call 200 POST /assessments -H "$(bearer "$CAROL")" -H "$JSON" -d "$REQUEST")
check "$ANSWER" ".assessmentId == $ASSESSMENT" "a repeat answers the same assessment"
show "repeat: assessment $(jq -r .assessmentId <<<"$ANSWER")"
ANSWER=$(call 409 POST /assessments -H "$(bearer "$CAROL")" -H "$JSON" \
    -d "$(jq -c '.targetServers = ["github"]' <<<"$REQUEST")")
show "$(jq -c <<<"$ANSWER")"

step "The compliance server claims it from the work queue and renews its lease"
TASK=$(call 200 POST /work/claim -H "$(api_key "$API_KEY")" -H "$JSON" \
    -d '{"kinds": ["assessment"], "leaseSeconds": 300, "waitSeconds": 30}')
show "$(jq -c '.task | {taskId, kind, attempt, assessment}' <<<"$TASK")"
check "$TASK" ".task.assessment.assessmentId == $ASSESSMENT" "the claimed assessment"
TASK_ID=$(jq -r .task.taskId <<<"$TASK")
show "$(call 200 POST "/work/$TASK_ID/heartbeat" -H "$(api_key "$API_KEY")" | jq -c)"

step "It reports what it found"
ANSWER=$(call 200 POST "/assessments/$ASSESSMENT/results" -H "$(api_key "$API_KEY")" -H "$JSON" \
    -d '{
          "summary": {"totalIssues": 2, "criticalIssues": 1, "warningIssues": 1},
          "servers": {
            "filesystem": {"status": "compliant", "issues": []},
            "postgres": {"status": "non_compliant", "issues": ["missing_config", "security_issue"]}
          }
        }')
show "$(jq -c '{status, statusDetail, assignedServer}' <<<"$ANSWER")"
check "$ANSWER" '.status == "completed"' "the assessment is completed"

step "Alice reviews the results with an approval token of her own"
REVIEW_TOKEN=$(approval_token "$ALICE" "review of $CORRELATION")
ANSWER=$(call 200 POST "/assessments/$ASSESSMENT/review" -H "$(bearer "$ALICE")" -H "$JSON" \
    -d "$(json --arg t "$REVIEW_TOKEN" \
        '{decision: "approved", reason: "postgres lacks its configuration", approvalToken: $t}')")
show "$(jq -c '{status, review}' <<<"$ANSWER")"
check "$ANSWER" '.status == "approved"' "the review"

step "Carol proposes a remediation: install the postgres MCP server, with a secret env value"
PROPOSED=$(call 201 POST /remediations/propose -H "$(bearer "$CAROL")" -H "$JSON" \
    -d "$(json --argjson a "$ASSESSMENT" '{
        assessmentId: $a,
        issues: ["missing_config", "security_issue"],
        priority: "high",
        autoApprove: true,
        proposedActions: [{
          id: "action-1",
          type: "install_server",
          serverName: "postgres",
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-postgres@0.6.2"],
          env: {DATABASE_URL: "postgresql://user:pass@localhost:5432/db"}
        }],
        rollbackPlan: "remove the postgres entry from the client configuration"}')")
show "$(jq -c '{proposalId, machineId, status, autoExecuted, autoApproveIgnored, payloadDigest, approvalsRequired, expiresAt}' <<<"$PROPOSED")"
show "$(jq -c .risk <<<"$PROPOSED")"
check "$PROPOSED" '.status == "pending" and .autoExecuted == false' "a pending proposal"
PROPOSAL=$(jq -r .proposalId <<<"$PROPOSED")
REQUIRED=$(jq -r .approvalsRequired <<<"$PROPOSED")

step "Bob reads the proposal: the env value is masked"
ANSWER=$(call 200 GET "/remediations/$PROPOSAL" -H "$(bearer "$BOB")")
show "$(jq -c '.proposedActions[0].env' <<<"$ANSWER")"
check "$ANSWER" '.proposedActions[0].env.DATABASE_URL.masked == "••••"' "a masked env value"
if grep -q 'user:pass' <<<"$ANSWER"; then fail "the env value leaked into a proposal"; fi

APPROVER_NAMES=("$ALICE_NAME" "$BOB_NAME")
APPROVERS=("$ALICE" "$BOB")
step "Priority high needs $REQUIRED approvals"
while [ "${#APPROVERS[@]}" -lt "$REQUIRED" ]; do
    name="approver-$((${#APPROVERS[@]} + 1))$SFX"
    create_user "$name" approver
    APPROVER_NAMES+=("$name")
    APPROVERS+=("$(login "$name" "$PASSWORD")")
done
show "approvers: ${APPROVER_NAMES[*]:0:$REQUIRED}"

step "The approvers approve it, each with a token bound to this proposal"
for i in $(seq 0 $((REQUIRED - 1))); do
    APPROVAL_TOKEN=$(approval_token "${APPROVERS[$i]}" "$CORRELATION" "$PROPOSAL")
    ANSWER=$(call 200 POST /approvals -H "$(bearer "${APPROVERS[$i]}")" -H "$JSON" \
        -d "$(json --argjson p "$PROPOSAL" --arg t "$APPROVAL_TOKEN" \
            '{proposalId: $p, decision: "approved", reason: "closes the postgres finding",
              approvalToken: $t}')")
    show "${APPROVER_NAMES[$i]}: $(jq -c '{approvalsReceived, approvalsRequired, proposalStatus, executionId}' <<<"$ANSWER")"
done
check "$ANSWER" '.proposalStatus == "approved" and .executionId != null' "the quorum approves"

step "Alice releases it to the installers, with one more token"
RELEASE_TOKEN=$(approval_token "$ALICE" "release $CORRELATION" "$PROPOSAL")
ANSWER=$(call 200 POST /remediations/execute -H "$(bearer "$ALICE")" -H "$JSON" \
    -d "$(json --argjson p "$PROPOSAL" --arg t "$RELEASE_TOKEN" \
        '{proposalId: $p, approvalToken: $t, dryRun: false,
          rollbackOnFailure: true, parallelExecution: false}')")
show "$(jq -c <<<"$ANSWER")"
check "$ANSWER" '.status == "queued" and .autoExecuted == false' "a queued execution"

step "The installer claims the execution: the actions in plain text, the digest and its salt"
TASK=$(call 200 POST /work/claim -H "$(api_key "$INSTALLER_KEY")" -H "$JSON" \
    -d '{"leaseSeconds": 600, "waitSeconds": 10}')
show "$(jq -c '.task.execution | {executionId, proposalId, machineId, dryRun, payloadDigest, digestVersion, correlationId}' <<<"$TASK")"
show "$(jq -c '.task.execution.actions[0] | {id, type, serverName, command, args, env: (.env | keys)}' <<<"$TASK")"
EXECUTION=$(jq -r .task.execution.executionId <<<"$TASK")
DIGEST=$(jq -r .task.execution.payloadDigest <<<"$TASK")
check "$TASK" ".task.execution.payloadDigest == $(jq .payloadDigest <<<"$PROPOSED")" \
    "the approved digest"

progress() {
    call "$1" POST "/remediations/execution/$EXECUTION/progress" -H "$(api_key "$INSTALLER_KEY")" \
        -H "$JSON" -d "$2"
}
step "It reports its progress, each report with the digest; one with another digest is refused"
ANSWER=$(progress 200 "$(json --arg d "$DIGEST" '{actionId: "action-1", status: "running", payloadDigest: $d}')")
show "$(jq -c '{status, progress, currentAction}' <<<"$ANSWER")"
ANSWER=$(progress 409 '{"actionId": "action-1", "status": "succeeded", "payloadDigest": "sha256:0000"}')
show "$(jq -c <<<"$ANSWER")"
ANSWER=$(progress 200 "$(json --arg d "$DIGEST" \
    '{actionId: "action-1", status: "succeeded", message: "installed", payloadDigest: $d}')")
show "$(jq -c '{status, progress, currentAction, results}' <<<"$ANSWER")"

step "It reports the end: the proposal is executed and a re-assessment is queued"
ANSWER=$(call 200 POST "/remediations/execution/$EXECUTION/complete" -H "$(api_key "$INSTALLER_KEY")" \
    -H "$JSON" -d "$(json --arg d "$DIGEST" \
        '{outcome: "succeeded", payloadDigest: $d, message: "postgres installed"}')")
show "$(jq -c '{status, progress, results, reassessmentId}' <<<"$ANSWER")"
check "$ANSWER" '.status == "succeeded"' "a succeeded execution"

step "Read the execution, the proposal and the re-assessment"
ANSWER=$(call 200 GET "/remediations/execution/$EXECUTION" -H "$(bearer "$BOB")")
show "$(jq -c '{executionId, machineId, status, progress, message, results, reassessmentId}' <<<"$ANSWER")"
REASSESSMENT=$(jq -r .reassessmentId <<<"$ANSWER")
ANSWER=$(call 200 GET "/remediations/$PROPOSAL" -H "$(bearer "$BOB")")
show "$(jq -c '{status, executionId}' <<<"$ANSWER")"
check "$ANSWER" '.status == "executed"' "an executed proposal"
ANSWER=$(call 200 GET "/assessments/$REASSESSMENT" -H "$(bearer "$BOB")")
show "$(jq -c '{status, requestedBy, targetServers, followsExecution, correlationId}' <<<"$ANSWER")"
check "$ANSWER" ".followsExecution == $EXECUTION and .correlationId == \"$CORRELATION\"" \
    "the re-assessment follows the execution"

step "Read the whole story from the audit log, oldest first, and verify the chain once more"
ANSWER=$(call 200 GET "/audit/logs?correlationId=$CORRELATION&limit=100" -H "$(bearer "$TOKEN")")
jq -c '.logs | reverse | .[] | {id, actor, action, target}' <<<"$ANSWER"
for action in assessment_requested assessment_claimed assessment_results_reported \
    assessment_reviewed remediation_proposed approval_recorded remediation_approved \
    execution_released execution_claimed execution_progress execution_completed \
    reassessment_requested; do
    check "$ANSWER" "any(.logs[]; .action == \"$action\")" "an audit row $action"
done
if grep -q 'user:pass' <<<"$ANSWER"; then fail "the env value leaked into the audit log"; fi
ANSWER=$(call 200 GET /audit/verify -H "$(bearer "$TOKEN")")
show "$(jq -c <<<"$ANSWER")"
check "$ANSWER" '.verified == true' "the chain verifies"

printf '\nThe walk-through is complete.\n'
