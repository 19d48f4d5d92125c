# One validator + signer host on AWS: Debian 12, a security group that opens only what the design needs, cloud-init user data.

provider "aws" {
  region = var.region
}

locals {
  # Genesis hashes of the chains a production signer may protect (its history refuses any other chain).
  # westend-dev has none here: its genesis depends on the node build, and it is a dev chain anyway.
  genesis_hashes = {
    polkadot = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3"
    kusama   = "0xb0a8d493285c2df73290dfb7e61f870f17b41801197a149ca93654499ea3dafe"
    westend  = "0xe143f23803ac50e8f6f8e62695d1ce9e4e1d68aa36c1cd2cfd15340213f3423e"
  }

  # The node's chain flags: a single-authority development chain has no peers, so its only
  # authority must author without them.
  node_args = join(" ", concat(["--chain", var.chain, "--name", var.name], var.chain == "westend-dev" ? ["--force-authoring"] : []))

  # signerd listens on loopback unless other validators' nodes or gateways are to reach it (prod only).
  signer_listen = length(var.signer_client_cidrs) > 0 ? "0.0.0.0:7443" : "127.0.0.1:7443"

  # signerd's metrics: on every interface only when scrapers are listed (the security group and the
  # unit's IP allow list still admit only them), else on loopback.
  signer_metrics_listen = length(var.monitoring_cidrs) > 0 ? "0.0.0.0:9615" : "127.0.0.1:9615"

  # signerd's systemd IP allow list: localhost always (the node beside it), plus the networks the
  # security group lets in. Written whole, since an empty IPAddressAllow= would reset the list.
  signer_ip_allow = join(" ", concat(["localhost"], var.signer_client_cidrs, var.monitoring_cidrs))

  # Everything the cloud-init template is filled with; the files travel base64-encoded, so their text
  # needs no YAML quoting. No secret is among them: user data is readable from the instance's metadata
  # service and is stored in the Terraform state.
  cloud_init_values = {
    signer_mode           = var.signer_mode
    chain                 = var.chain
    node_name             = var.name
    node_args             = local.node_args
    genesis_hash          = lookup(local.genesis_hashes, var.chain, "")
    signer_listen         = local.signer_listen
    signer_metrics_listen = local.signer_metrics_listen
    signer_ip_allow       = local.signer_ip_allow
    signer_release_url    = var.signer_release_url
    signer_release_sha256 = var.signer_release_sha256
    node_release_url      = var.node_release_url
    node_release_sha256   = var.node_release_sha256
    signerd_unit          = base64encode(file("${path.module}/../systemd/signerd.service"))
    signerd_sysusers      = base64encode(file("${path.module}/../systemd/signerd.sysusers"))
    node_unit             = base64encode(file("${path.module}/files/polkadot.service"))
    validator_setup       = base64encode(file("${path.module}/files/validator-setup.sh"))
  }
}

# Debian 12 as published by Debian on AWS (the account Debian's cloud team publishes from).
data "aws_ami" "debian12" {
  most_recent = true
  owners      = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

data "aws_vpc" "default" {
  count   = var.subnet_id == null ? 1 : 0
  default = true
}

data "aws_subnet" "chosen" {
  count = var.subnet_id == null ? 0 : 1
  id    = var.subnet_id
}

resource "aws_key_pair" "operator" {
  key_name   = "${var.name}-operator"
  public_key = var.ssh_public_key
}

# Inbound: SSH from the operators, the node's peer-to-peer port from anywhere (a validator must be
# reachable by its peers), the signer's port only from listed validator networks (and never the whole
# Internet: the variable refuses it), metrics only from the scrapers. The node's RPC is not opened:
# use SSH or the reverse proxy of infra/proxy.
resource "aws_security_group" "validator" {
  name        = "${var.name}-validator"
  description = "validator node and its signer: SSH from operators, p2p from anywhere, signer and metrics from listed networks"
  vpc_id      = var.subnet_id == null ? data.aws_vpc.default[0].id : data.aws_subnet.chosen[0].vpc_id

  ingress {
    description = "SSH from the operators"
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = var.ssh_allowed_cidrs
  }

  ingress {
    description      = "node peer-to-peer"
    protocol         = "tcp"
    from_port        = 30333
    to_port          = 30333
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  dynamic "ingress" {
    for_each = length(var.signer_client_cidrs) > 0 ? [1] : []
    content {
      description = "signerd gRPC (mutual TLS) from other validators' nodes or gateways"
      protocol    = "tcp"
      from_port   = 7443
      to_port     = 7443
      cidr_blocks = var.signer_client_cidrs
    }
  }

  dynamic "ingress" {
    for_each = length(var.monitoring_cidrs) > 0 ? [9615, 9625] : []
    content {
      description = "Prometheus scrapes (9615 signerd, 9625 the node)"
      protocol    = "tcp"
      from_port   = ingress.value
      to_port     = ingress.value
      cidr_blocks = var.monitoring_cidrs
    }
  }

  # Outbound stays open: the node dials peers on any port, and the host fetches packages and releases.
  egress {
    description      = "peers, packages, releases"
    protocol         = "-1"
    from_port        = 0
    to_port          = 0
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  tags = {
    Name = "${var.name}-validator"
  }
}

resource "aws_instance" "validator" {
  ami                    = data.aws_ami.debian12.id
  instance_type          = var.instance_type
  key_name               = aws_key_pair.operator.key_name
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.validator.id]
  user_data              = templatefile("${path.module}/cloud-init.yaml.tftpl", local.cloud_init_values)
  # A production validator's disk holds its signer's history: it must not vanish by a stray destroy.
  disable_api_termination = var.signer_mode == "prod"

  # Instance metadata only with a session token (IMDSv2), and not from containers behind a hop.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.disk_size_gb
    encrypted             = true
    delete_on_termination = var.signer_mode == "dev"
  }

  lifecycle {
    # cloud-init runs once, at the first boot. A later change of the template or a newer Debian image
    # must not replace the host: that would throw away the signer's history, its slashing protection.
    ignore_changes = [user_data, ami]

    precondition {
      condition     = var.signer_mode == "prod" || !contains(["polkadot", "kusama"], var.chain)
      error_message = "signer_mode dev puts //Alice's keys (whose secret everybody knows) on the signer: use it with westend or westend-dev only."
    }
    precondition {
      condition     = var.signer_mode == "dev" || contains(keys(local.genesis_hashes), var.chain)
      error_message = "signer_mode prod needs a chain whose genesis hash this module knows: polkadot, kusama or westend."
    }
    precondition {
      condition     = var.signer_mode == "prod" || length(var.signer_client_cidrs) == 0
      error_message = "signer_mode dev listens on loopback only: signer_client_cidrs must be empty."
    }
  }

  tags = {
    Name = var.name
  }
}
