//! Terminal UI wizard: app state machine, one module per screen, pure render functions.
