// Package jobs holds the Kubernetes manifests of flowenroll; its test decodes them strictly.
package jobs
