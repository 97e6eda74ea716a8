# Sourced by run.sh and cluster.sh: the development keys, made once in .data/ (0600) and kept, and the engine settings
# that use them. Nothing here is for production: there, keys come from a secret store (see the systemd units).
#
#   dev_key NAME        prints the key in .data/NAME, making it first if needed
#   dev_settings        an array of NAME=value engine settings (Azure mode, audit key, the three dev principals),
#                       filled when this file is sourced; use as: env "${dev_settings[@]}" ... dotnet ...

DEV_SETTINGS_DATA="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.data"

dev_key() {
  local file="$DEV_SETTINGS_DATA/$1"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$DEV_SETTINGS_DATA"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

# dev (pipeline, operator, viewer); dev_approver, a second principal, the change authority (approvals need someone other
# than the submitter); dev_agent, the agents' key, bound to environments (the engine refuses an unbound agent key); the
# audit chain's HMAC key (configuration, never the storage account: the engine refuses Azure mode without one).
dev_settings=(
  Engine__StorageMode=Azure
  Audit__Key="$(dev_key audit-key)"
  Secrets__KeyRingKey="$(dev_key keyring-key)"
  Auth__Keys__0__Name=dev
  Auth__Keys__0__Key="$(dev_key dev-api-key)"
  Auth__Keys__0__Roles=pipeline,operator,viewer
  Auth__Keys__1__Name=dev_approver
  Auth__Keys__1__Key="$(dev_key dev-approver-key)"
  Auth__Keys__1__Roles=approver
  Auth__Keys__2__Name=dev_agent
  Auth__Keys__2__Key="$(dev_key dev-agent-key)"
  Auth__Keys__2__Roles=agent
  Auth__Keys__2__Environments=local,staging
  Governance__Approvers__dev_approver__0=team
  Governance__Approvers__dev_approver__1=cab
  Governance__Approvers__dev_approver__2=executive
  Governance__Executives__0=dev_approver
)
