# Inputs of the validator + signer host module: where, how big, who may log in, which chain, which signer mode.

variable "region" {
  description = "AWS region the host runs in, e.g. eu-central-1."
  type        = string
}

variable "name" {
  description = "Name of the host: the node's --name, the signer's signer_id and the resources' Name tag (letters, digits, dashes)."
  type        = string
  default     = "validator-1"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, at most 63, starting with a letter or digit."
  }
}

variable "instance_type" {
  description = "EC2 instance type. The default (8 vCPU, 32 GiB) follows the validators' reference hardware; benchmark yours with the node's own hardware check."
  type        = string
  default     = "m6i.2xlarge"
}

variable "disk_size_gb" {
  description = "Size of the encrypted root volume in GiB: the chain database, the signer's history and audit log."
  type        = number
  default     = 1000

  validation {
    condition     = var.disk_size_gb >= 100
    error_message = "disk_size_gb: a chain database needs at least 100 GiB."
  }
}

variable "subnet_id" {
  description = "Subnet to place the host in; null puts it in the region's default VPC."
  type        = string
  default     = null
}

variable "ssh_public_key" {
  description = "OpenSSH public key (one line) of the operator; it logs in as Debian's default user, admin."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp[0-9]+) [A-Za-z0-9+/=]+( .*)?$", var.ssh_public_key))
    error_message = "ssh_public_key: one OpenSSH public key line (ssh-ed25519 AAAA... comment)."
  }
}

variable "ssh_allowed_cidrs" {
  description = "Networks allowed to reach SSH (port 22), e.g. the operators' VPN. Never the whole Internet."
  type        = list(string)

  validation {
    condition     = length(var.ssh_allowed_cidrs) > 0 && alltrue([for cidr in var.ssh_allowed_cidrs : can(cidrhost(cidr, 0))])
    error_message = "ssh_allowed_cidrs: at least one network, each in CIDR notation."
  }
  validation {
    condition     = !contains(var.ssh_allowed_cidrs, "0.0.0.0/0") && !contains(var.ssh_allowed_cidrs, "::/0")
    error_message = "ssh_allowed_cidrs: 0.0.0.0/0 and ::/0 would open SSH to the whole Internet."
  }
}

variable "chain" {
  description = "The validator's chain: polkadot, kusama, westend, or westend-dev (a local development chain whose authority is //Alice)."
  type        = string

  validation {
    condition     = contains(["polkadot", "kusama", "westend", "westend-dev"], var.chain)
    error_message = "chain: one of polkadot, kusama, westend, westend-dev."
  }
}

variable "signer_mode" {
  description = "dev: the host makes a throwaway dev signer (//Alice keys, dev PKI) and starts it and the node. prod: the host is prepared, and signerd and the node start once the operator has put the TLS files, PIN, policy and keys in place (docs/deploy.md)."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "prod"], var.signer_mode)
    error_message = "signer_mode: dev or prod."
  }
}

variable "signer_client_cidrs" {
  description = "Networks of other validator nodes or gateways allowed to reach this signer's gRPC port 7443 (prod only). Empty: only the node on this host, over loopback."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.signer_client_cidrs : can(cidrhost(cidr, 0))])
    error_message = "signer_client_cidrs: each entry in CIDR notation."
  }
  validation {
    condition     = !contains(var.signer_client_cidrs, "0.0.0.0/0") && !contains(var.signer_client_cidrs, "::/0")
    error_message = "signer_client_cidrs: the signer port is never open to the whole Internet."
  }
}

variable "monitoring_cidrs" {
  description = "Networks of the Prometheus scrapers, allowed to reach signerd's metrics (9615) and the node's (9625). Empty: no scraping from outside."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.monitoring_cidrs : can(cidrhost(cidr, 0))])
    error_message = "monitoring_cidrs: each entry in CIDR notation."
  }
  validation {
    condition     = !contains(var.monitoring_cidrs, "0.0.0.0/0") && !contains(var.monitoring_cidrs, "::/0")
    error_message = "monitoring_cidrs: the metrics pages have no authentication; never open them to the whole Internet."
  }
}

variable "signer_release_url" {
  description = "HTTPS URL of a .tar.gz holding the signerd and signerctl binaries (built for Debian 12, amd64) at its top level."
  type        = string

  validation {
    condition     = can(regex("^https://[A-Za-z0-9./_:%~+-]+$", var.signer_release_url))
    error_message = "signer_release_url: an https URL without quotes, spaces or shell characters."
  }
}

variable "signer_release_sha256" {
  description = "SHA-256 of the signer tarball; the host refuses a download that does not match."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.signer_release_sha256))
    error_message = "signer_release_sha256: 64 lower-case hex digits."
  }
}

variable "node_release_url" {
  description = "HTTPS URL of a .tar.gz holding the node built with node-patches/ (polkadot, polkadot-prepare-worker, polkadot-execute-worker) at its top level."
  type        = string

  validation {
    condition     = can(regex("^https://[A-Za-z0-9./_:%~+-]+$", var.node_release_url))
    error_message = "node_release_url: an https URL without quotes, spaces or shell characters."
  }
}

variable "node_release_sha256" {
  description = "SHA-256 of the node tarball; the host refuses a download that does not match."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.node_release_sha256))
    error_message = "node_release_sha256: 64 lower-case hex digits."
  }
}
