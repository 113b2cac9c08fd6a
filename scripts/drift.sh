#!/usr/bin/env bash
# Drift check of one cloud stack: `pulumi preview --refresh --expect-no-changes` with the policy pack. When the real
# resources no longer match the program (a console edit, a deleted grant), opens a GitHub issue labelled `drift`
# for the stack, or comments on the one already open, with the preview's output. Run nightly by
# .github/workflows/drift.yml; needs `gh` logged in (GH_TOKEN) and Pulumi credentials.
# Usage: scripts/drift.sh <staging|production>   (PULUMI_ORG=<org> prefixes the stack name)
# Exit status: 0 no drift; 2 drift found (and reported); anything else the preview failed for another reason
# (credentials, a policy violation, ...), which fails the run without filing a drift issue.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: scripts/drift.sh <staging|production>"
stack="$1"
require_stack "$stack"
[[ "$stack" != "local" ]] || die "drift is checked on the cloud stacks only (staging, production)"
require_tool pulumi "Install it: https://www.pulumi.com/docs/install/."
require_tool gh "Install it: https://cli.github.com/."

readonly LABEL="drift"
readonly TITLE="Drift in stack ${stack}"
# The message Pulumi prints when --expect-no-changes meets a change; any other failure is not drift.
readonly DRIFT_MESSAGE="no changes were expected but changes were proposed"
# GitHub refuses issue bodies over 65536 characters; the tail of the preview holds the diff summary and the error.
readonly MAX_OUTPUT_CHARS=60000

ensure_dependencies
cd "$REPO_ROOT"
output="$(mktemp)"
trap 'rm -f "$output"' EXIT

mapfile -t policy_args < <(policy_pack_args "$stack")
status=0
pulumi preview --stack "${PULUMI_ORG:+$PULUMI_ORG/}$stack" --refresh --expect-no-changes --diff --non-interactive \
  "${policy_args[@]}" 2>&1 | tee "$output" || status=${PIPESTATUS[0]}

if [[ "$status" -eq 0 ]]; then
  info "no drift in stack $stack"
  exit 0
fi
if ! grep -qF "$DRIFT_MESSAGE" "$output"; then
  printf 'error: the preview of stack %s failed (exit %s) for a reason other than drift; no issue filed\n' \
    "$stack" "$status" >&2
  exit "$status"
fi

run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-<repository>}/actions/runs/${GITHUB_RUN_ID:-<run>}"
body="$(mktemp)"
trap 'rm -f "$output" "$body"' EXIT
# shellcheck disable=SC2016 # the backquotes are Markdown code spans, not command substitutions
{
  printf 'The nightly `pulumi preview --refresh --expect-no-changes` of stack `%s` found changes (%s, run %s).\n\n' \
    "$stack" "$(date -u +%Y-%m-%dT%H:%MZ)" "$run_url"
  printf 'Either run `pulumi up` to put the program back, or change the program to match the change made outside\n'
  printf 'it (README, "Drift"). The last %s characters of the preview:\n\n```\n' "$MAX_OUTPUT_CHARS"
  tail -c "$MAX_OUTPUT_CHARS" "$output"
  printf '\n```\n'
} >"$body"

gh label create "$LABEL" --color B60205 --description "The deployed stack differs from the program" --force
existing="$(gh issue list --state open --label "$LABEL" --search "\"$TITLE\" in:title" --json number,title \
  --jq ".[] | select(.title == \"$TITLE\") | .number" | head -n 1)"
if [[ -n "$existing" ]]; then
  gh issue comment "$existing" --body-file "$body"
  info "drift in stack $stack: commented on issue #$existing"
else
  gh issue create --title "$TITLE" --label "$LABEL" --body-file "$body"
  info "drift in stack $stack: opened an issue"
fi
exit 2
