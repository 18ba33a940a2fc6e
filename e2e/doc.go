// Package e2e runs the flowenroll binary against the emulator: kills, signals and resumes.
package e2e
