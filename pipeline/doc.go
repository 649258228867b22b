// Package pipeline is Lathe's pipeline language: it parses the YAML files a
// project keeps in its repository (.lathe.yml or .lathe/*.yml), validates
// them, and plans the order jobs may run in.
//
// The package is pure. It does no I/O, opens no network connection and
// touches no database: callers read the files and pass their bytes in. That
// is what lets the server, `lathe exec` and `lathe lint` share exactly the
// same code, so a pipeline that lints clean locally is the pipeline the
// server runs. It depends only on the root lathe package (for EnvVar and
// StepDef) and on the YAML parser, and must never import the store, engine,
// api or agent packages, or anything else that does I/O.
//
// Every problem is reported as an [Error] carrying the file, line, column
// and field path, and [Parse] reports all problems at once in an
// [ErrorList] rather than stopping at the first.
package pipeline
