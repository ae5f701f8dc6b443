#!/bin/sh
echo "@GREETING@ on $(cat /opt/toolchain/arch)"
