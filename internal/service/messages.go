package service

// MESSAGE_IDs of systemd's messages about units (sd-messages.h), which
// journalctl -x explains from its catalog.
const (
	MessageUnitStarting         = "7d4958e842da4a758f6c1cdc7b36dcc5"
	MessageUnitStarted          = "39f53479d3a045ac8e11786248231fbf"
	MessageUnitFailed           = "be02cf6855d2428ba40df7e9d022f03d"
	MessageUnitStopping         = "de5b426a63be47a7b6ac3eaac82e2f6f"
	MessageUnitStopped          = "9d1aaa27d60140bd96365438aad20286"
	MessageUnitSuccess          = "7ad2d189f7e94e70a38c781354912448"
	MessageUnitSkipped          = "0e4284a0caca4bfc81c0bb6786972673"
	MessageUnitFailureResult    = "d9b373ed55a64feb8242e02dbe79a49c"
	MessageUnitProcessExit      = "98e322203f7a4ed290d09fe03c09fe15"
	MessageUnitResources        = "ae8f7b866b0347b9af31fe1c80b127c0"
	MessageUnitRestartScheduled = "5eb03494b6584870a536b337290809b3"
)
