#!/usr/bin/env bash
# Rewrites the permission table in docs/permissions.md from the code's policy table and route table (Policies.RolesByPolicy and
# the mapped endpoints), through the same test that fails when they differ.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
DEPLOY_ENGINE_UPDATE_README=1 dotnet test tests/Api.Tests -c Release --filter "FullyQualifiedName~PermissionTableTests.The_documented_permission_table" "$@"
git --no-pager diff --stat -- docs/permissions.md
