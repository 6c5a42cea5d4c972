package main

import "sundial.dev/sundial/internal/service"

// catalogEntries are the explanations systemd's message catalog
// (catalog/systemd.catalog.in, with Debian's support address) has for
// the messages sundial logs, by MESSAGE_ID; @FIELD@ stands for a field
// of the entry.
var catalogEntries = map[string]string{
	service.MessageUnitStarting: `Subject: A start job for unit @UNIT@ has begun execution
Defined-By: systemd
Support: https://www.debian.org/support

A start job for unit @UNIT@ has begun execution.

The job identifier is @JOB_ID@.`,
	service.MessageUnitStarted: `Subject: A start job for unit @UNIT@ has finished successfully
Defined-By: systemd
Support: https://www.debian.org/support

A start job for unit @UNIT@ has finished successfully.

The job identifier is @JOB_ID@.`,
	service.MessageUnitFailed: `Subject: A start job for unit @UNIT@ has failed
Defined-By: systemd
Support: https://www.debian.org/support

A start job for unit @UNIT@ has finished with a failure.

The job identifier is @JOB_ID@ and the job result is @JOB_RESULT@.`,
	service.MessageUnitStopping: `Subject: A stop job for unit @UNIT@ has begun execution
Defined-By: systemd
Support: https://www.debian.org/support

A stop job for unit @UNIT@ has begun execution.

The job identifier is @JOB_ID@.`,
	service.MessageUnitStopped: `Subject: A stop job for unit @UNIT@ has finished
Defined-By: systemd
Support: https://www.debian.org/support

A stop job for unit @UNIT@ has finished.

The job identifier is @JOB_ID@ and the job result is @JOB_RESULT@.`,
	service.MessageUnitSuccess: `Subject: Unit succeeded
Defined-By: systemd
Support: https://www.debian.org/support

The unit @UNIT@ has successfully entered the 'dead' state.`,
	service.MessageUnitSkipped: `Subject: Unit skipped
Defined-By: systemd
Support: https://www.debian.org/support

The unit @UNIT@ was skipped due to an ExecCondition= command failure, and has
entered the 'dead' state with result '@UNIT_RESULT@'.`,
	service.MessageUnitFailureResult: `Subject: Unit failed
Defined-By: systemd
Support: https://www.debian.org/support

The unit @UNIT@ has entered the 'failed' state with result '@UNIT_RESULT@'.`,
	service.MessageUnitProcessExit: `Subject: Unit process exited
Defined-By: systemd
Support: https://www.debian.org/support

An @COMMAND@= process belonging to unit @UNIT@ has exited.

The process' exit code is '@EXIT_CODE@' and its exit status is @EXIT_STATUS@.`,
	service.MessageUnitResources: `Subject: Resources consumed by unit runtime
Defined-By: systemd
Support: https://www.debian.org/support

The unit @UNIT@ completed and consumed the indicated resources.`,
	service.MessageUnitRestartScheduled: `Subject: Automatic restarting of a unit has been scheduled
Defined-By: systemd
Support: https://www.debian.org/support

Automatic restarting of the unit @UNIT@ has been scheduled, as the result for
the configured Restart= setting for the unit.`,
}
