// librdkafka settings by name, as the adapters' options carry them ("linger.ms" -> "1"). Kept apart from
// kafka_client_config.h so that no public header of the adapter includes librdkafka.
#pragma once

#include <map>
#include <string>

namespace clickstream::kafka {

using KafkaSettings = std::map<std::string, std::string>;

}  // namespace clickstream::kafka
